#include "runtime/vm/kvm.hpp"

#include "common/strings.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace hull::vm {

int kvm_ioctl(int fd, unsigned long request, unsigned long arg) {
    int r;
    do r = ::ioctl(fd, request, arg);
    while (r < 0 && errno == EINTR);
    return r;
}

Result<Kvm> Kvm::open(const char* path) {
    Kvm kvm;
    kvm.fd_ = UniqueFd(::open(path, O_RDWR | O_CLOEXEC));
    if (!kvm.fd_) {
        Error e = Error::sys(cat("open ", q(path)));
        if (errno == ENOENT) e.context("kvm is not available (no kvm module or no /dev/kvm in this namespace)");
        else if (errno == EACCES || errno == EPERM) e.context("kvm is not usable by this user");
        return fail(std::move(e));
    }
    const int version = kvm_ioctl(kvm.fd_.get(), KVM_GET_API_VERSION, 0UL);
    if (version < 0) return fail_sys(cat("KVM_GET_API_VERSION on ", q(path)));
    if (version != KVM_API_VERSION)
        return fail_msg(cat("kvm api version mismatch: ", q(path), " speaks ", version, ", hull needs ", KVM_API_VERSION));
    return kvm;
}

Result<std::vector<kvm_cpuid_entry2>> Kvm::supported_cpuid() const {
    // KVM says E2BIG until the buffer is big enough, after doing all the work of the answer; 128
    // entries is more than CPUs have today (75 here), so one call normally does. The buffer is
    // left uninitialized: KVM fills what it returns.
    for (std::uint32_t n = 128; n <= 1024; n *= 2) {
        const std::size_t bytes = sizeof(KvmCpuidHeader) + n * sizeof(kvm_cpuid_entry2);
        const auto buf = std::make_unique_for_overwrite<std::uint8_t[]>(bytes);
        const KvmCpuidHeader hdr{n, 0};
        std::memcpy(buf.get(), &hdr, sizeof hdr);
        if (kvm_ioctl(fd_.get(), kKvmGetSupportedCpuid, buf.get()) == 0) {
            KvmCpuidHeader got;
            std::memcpy(&got, buf.get(), sizeof got);
            std::vector<kvm_cpuid_entry2> entries(std::min(got.nent, n));
            std::memcpy(entries.data(), buf.get() + sizeof got, entries.size() * sizeof(kvm_cpuid_entry2));
            return entries;
        }
        if (errno != E2BIG) return fail_sys("KVM_GET_SUPPORTED_CPUID");
    }
    return fail_msg("KVM_GET_SUPPORTED_CPUID: more than 1024 entries");
}

Result<std::size_t> Kvm::vcpu_mmap_size() const {
    const int size = kvm_ioctl(fd_.get(), KVM_GET_VCPU_MMAP_SIZE, 0UL);
    if (size < 0) return fail_sys("KVM_GET_VCPU_MMAP_SIZE");
    if (static_cast<std::size_t>(size) < sizeof(kvm_run)) return fail_msg(cat("KVM_GET_VCPU_MMAP_SIZE: ", size, " is too small"));
    return static_cast<std::size_t>(size);
}

Result<Vcpu> Vcpu::create(int vm_fd, unsigned index, std::size_t run_size) {
    Vcpu v;
    v.index_ = index;
    v.fd_ = UniqueFd(kvm_ioctl(vm_fd, KVM_CREATE_VCPU, static_cast<unsigned long>(index)));
    if (!v.fd_) return fail_sys(cat("KVM_CREATE_VCPU ", index));
    v.run_ = HULL_TRY(MmapRegion::map(run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v.fd_.get(), 0,
                                      cat("mmap kvm_run of vcpu ", index)));
    return v;
}

std::uint64_t Vcpu::rip() const {
    kvm_regs regs{};
    if (kvm_ioctl(fd_.get(), KVM_GET_REGS, &regs) != 0) return 0;
    return regs.rip;
}

}  // namespace hull::vm
