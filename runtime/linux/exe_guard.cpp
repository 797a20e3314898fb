#include "runtime/linux/exe_guard.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"
#include "common/unique_fd.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

extern char** environ;

namespace hull::runtime::linux {
namespace {

constexpr const char* kSealedName = "hull-sealed-exe";

bool has_cap(const std::optional<std::vector<int>>& set, int cap) {
    return set && std::find(set->begin(), set->end(), cap) != set->end();
}

}  // namespace

bool exe_reachable_from(const oci::Spec& spec, const std::optional<oci::Capabilities>& caps) {
    bool own_userns = spec.linux && std::any_of(spec.linux->namespaces.begin(), spec.linux->namespaces.end(),
                                                [](const oci::Namespace& n) { return n.type == oci::NamespaceType::user; });
    if (own_userns) return false;
    auto grants = [](const std::optional<oci::Capabilities>& c) {
        return c && (has_cap(c->bounding, CAP_SYS_PTRACE) || has_cap(c->effective, CAP_SYS_PTRACE) ||
                     has_cap(c->permitted, CAP_SYS_PTRACE));
    };
    return grants(caps) || (spec.process && grants(spec.process->capabilities));
}

Status run_from_sealed_copy() {
    char self[256];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    if (n < 0) return fail_sys("readlink `/proc/self/exe`");
    self[n] = 0;
    if (starts_with(self, cat("/memfd:", kSealedName))) return {};

    auto cmdline = HULL_TRY(fs::read_file("/proc/self/cmdline"));
    std::vector<char*> argv;
    for (size_t i = 0; i < cmdline.size(); i += std::char_traits<char>::length(cmdline.data() + i) + 1)
        argv.push_back(cmdline.data() + i);
    argv.push_back(nullptr);

    UniqueFd exe = HULL_TRY(fs::open("/proc/self/exe", O_RDONLY));
    struct stat st;
    if (::fstat(exe.get(), &st) < 0) return fail_sys("stat `/proc/self/exe`");
    UniqueFd mem(::memfd_create(kSealedName, MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!mem) return fail_sys("memfd_create");
    for (off_t off = 0; off < st.st_size;) {
        ssize_t w = ::sendfile(mem.get(), exe.get(), &off, static_cast<size_t>(st.st_size - off));
        if (w < 0 && errno != EINTR) return fail_sys("copy hull's binary into a memfd");
        if (w == 0) break;
    }
    if (::fcntl(mem.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
        return fail_sys("seal the memfd copy of hull");
    // execveat with AT_EMPTY_PATH runs the memfd itself; O_CLOEXEC is fine for an ELF binary.
    ::syscall(SYS_execveat, mem.get(), "", argv.data(), environ, AT_EMPTY_PATH);
    return fail_sys("re-execute hull from its sealed copy");
}

}  // namespace hull::runtime::linux
