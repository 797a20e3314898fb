#include "runtime/vm/memory.hpp"

#include "common/strings.hpp"
#include "runtime/vm/arch/x86_64/layout.hpp"

#include <sys/mman.h>
#include <unistd.h>

namespace hull::vm {

Result<GuestRam> GuestRam::create(std::uint64_t size) {
    GuestRam ram;
    ram.memfd_ = UniqueFd(::memfd_create("hull-vm-ram", MFD_CLOEXEC));
    if (!ram.memfd_) return fail_sys("create guest memory: memfd_create");
    if (::ftruncate(ram.memfd_.get(), static_cast<off_t>(size)) != 0)
        return fail_sys(cat("size guest memory to ", size, " bytes"));
    ram.map_ = HULL_TRY_CTX(MmapRegion::map(size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                                            ram.memfd_.get(), 0, "mmap guest memory"),
                            "create guest memory");
    // Guest RAM is mapped into the guest and mapped for devices: it never belongs in a core dump
    // of hull, and fork (hooks, later) must not copy it.
    (void)::madvise(ram.map_.get(), size, MADV_DONTDUMP);
    (void)::madvise(ram.map_.get(), size, MADV_DONTFORK);
    const std::uint64_t low = x86_64::low_ram_end(size);
    ram.view_.add_region(0, low, ram.map_.bytes());
    if (const std::uint64_t high = x86_64::high_ram_size(size))
        ram.view_.add_region(x86_64::kHighRamStart, high, ram.map_.bytes() + low);
    return ram;
}

}  // namespace hull::vm
