// The KVM objects, one owner each: the system fd (/dev/kvm), the VM fd, and per vCPU its fd and
// its kvm_run mapping.
#pragma once

#include "common/mmap_region.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

namespace hull::vm {

// <linux/kvm.h>'s variable-length structures are wrong in C++: __DECLARE_FLEX_ARRAY's empty
// struct takes a byte there, which moves the entries and changes the size encoded in the ioctl
// numbers. These are the kernel's layouts; the entries follow the 8-byte header.
struct KvmCpuidHeader {
    std::uint32_t nent;
    std::uint32_t padding;
};
struct KvmMsrsHeader {
    std::uint32_t nmsrs;
    std::uint32_t pad;
};
inline constexpr unsigned long kKvmGetSupportedCpuid = _IOWR(KVMIO, 0x05, KvmCpuidHeader);
inline constexpr unsigned long kKvmSetCpuid2 = _IOW(KVMIO, 0x90, KvmCpuidHeader);
inline constexpr unsigned long kKvmSetMsrs = _IOW(KVMIO, 0x89, KvmMsrsHeader);

// An ioctl retried on EINTR (KVM_RUN excepted: the vCPU loop wants to see those).
int kvm_ioctl(int fd, unsigned long request, unsigned long arg);
inline int kvm_ioctl(int fd, unsigned long request, const void* arg) {
    // SAFETY: ioctl's argument is an integer or a pointer to the request's structure; callers pass
    // the structure the request is defined with.
    return kvm_ioctl(fd, request, reinterpret_cast<unsigned long>(arg));
}

class Kvm {
public:
    // Opens /dev/kvm and checks the API version; errors say whether KVM is absent or forbidden.
    static Result<Kvm> open(const char* path = "/dev/kvm");
    int fd() const { return fd_.get(); }
    Result<std::vector<kvm_cpuid_entry2>> supported_cpuid() const;
    Result<std::size_t> vcpu_mmap_size() const;

private:
    UniqueFd fd_;
};

class Vcpu {
public:
    static Result<Vcpu> create(int vm_fd, unsigned index, std::size_t run_size);
    int fd() const { return fd_.get(); }
    unsigned index() const { return index_; }
    // SAFETY: the mapping is KVM's kvm_run structure for this vCPU, page-aligned and at least
    // sizeof(kvm_run) bytes (KVM_GET_VCPU_MMAP_SIZE), alive as long as this object.
    kvm_run* run() const { return reinterpret_cast<kvm_run*>(run_.get()); }
    // The guest's instruction pointer, for messages; 0 when it cannot be read.
    std::uint64_t rip() const;

private:
    UniqueFd fd_;
    MmapRegion run_;
    unsigned index_ = 0;
};

}  // namespace hull::vm
