#include "common/install_paths.hpp"

#include "common/fs.hpp"
#include "common/strings.hpp"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

namespace hull {

Result<std::string> hull_bin_dir(std::string_view what) {
    char buf[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return fail_sys(cat(what, ": readlink `/proc/self/exe`"));
    std::string dir = fs::dirname(std::string_view(buf, static_cast<size_t>(n)));
    if (dir.ends_with("/libexec/hull")) dir = fs::clean(fs::join(dir, "../../bin"));
    return dir;
}

Result<std::string> find_helper(std::string_view name, const char* env_var) {
    auto executable = [](const std::string& p) {
        struct stat st;
        return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
    };
    if (const char* env = std::getenv(env_var); env && *env) {
        if (!executable(env)) return fail_msg(cat("$", env_var, " names `", env, "`, which is not an executable file"));
        return std::string(env);
    }
    const std::string dir = HULL_TRY(hull_bin_dir(cat("find the ", name, " helper")));
    const std::string beside = fs::join(dir, name);
    const std::string libexec = fs::clean(fs::join(dir, cat("../libexec/hull/", name)));
    for (const auto& p : {beside, libexec})
        if (executable(p)) return p;
    return fail_msg(cat("cannot find the ", name, " helper: looked at `", beside, "` and `", libexec, "` (set $", env_var,
                        " to its path)"));
}

}  // namespace hull
