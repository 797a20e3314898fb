// File helpers over raw fds: whole-file read/write, atomic replace, directories.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include <fcntl.h>
#include <sys/types.h>

#include <string>
#include <string_view>

namespace hull::fs {

Result<UniqueFd> open(const std::string& path, int flags, mode_t mode = 0);
Result<UniqueFd> openat(FdRef dir, const std::string& path, int flags, mode_t mode = 0);
Result<std::string> read_file(const std::string& path);
Result<std::string> read_fd(FdRef fd);
Status write_file(const std::string& path, std::string_view data, int flags = O_WRONLY | O_TRUNC, mode_t mode = 0644);
Status write_fd(FdRef fd, std::string_view data);
// Writes to a temp file beside `path`, fsyncs, and renames over it: readers see old or new.
Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode = 0600);
// mkdir -p; existing directories are fine.
Status mkdir_p(const std::string& path, mode_t mode = 0755);
// rm -rf of a tree, not crossing mount points and not following symlinks.
Status remove_tree(const std::string& path);
bool exists(const std::string& path);
// The directory part of a path ("/a/b" -> "/a", "b" -> ".").
std::string dirname(std::string_view path);
// Joins with exactly one slash.
std::string join(std::string_view a, std::string_view b);
// Lexically cleans a path: collapses //, resolves . and .. (never above "/" for absolute).
std::string clean(std::string_view path);

}  // namespace hull::fs
