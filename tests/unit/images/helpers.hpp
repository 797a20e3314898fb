// Shared by the images tests: the input generator, a sandbox for hostile input and a
// file-by-file snapshot of a tree.
#pragma once

#include "common/fs.hpp"
#include "common/result.hpp"

#include <functional>
#include <map>
#include <string>

namespace hull::images::test {

// A fresh directory under $TMPDIR, removed by the destructor.
class TempDir {
public:
    TempDir();
    ~TempDir();
    const std::string& path() const { return path_; }
    std::string operator/(std::string_view rel) const { return fs::join(path_, rel); }

private:
    std::string path_;
};

// Runs tests/images/gen.py KIND OUT; false (with a gtest failure) when it fails.
bool generate(const char* kind, const std::string& out);

// Runs fn() in a forked child inside a private mount namespace where every mount is read-only
// except `writable`, so a bug cannot write anywhere else. Returns the child's message: empty
// when fn succeeded, else its error message (or "crashed ...").
std::string sandboxed(const std::string& writable, const std::function<Status()>& fn);
bool can_sandbox();  // root with mount namespaces

// path -> "type mode uid:gid size sha256|target|dev xattrs" for every entry under root,
// recursively, without following symlinks. Overlay's own xattrs are left out.
std::map<std::string, std::string> snapshot(const std::string& root);

}  // namespace hull::images::test
