// Pulling an image from a registry into the store, for the static `hull` binary.
//
// The registry client needs libcurl, which cannot be linked statically (images/registry.hpp
// says why), so the static `hull` never does network I/O itself: pull_image() runs the small,
// dynamically linked helper `hull-fetch` (cli/fetch/), which resolves the reference, fetches
// the blobs into the store under a Lease and commits the image. The helper prints its own
// progress (to `progress_fd`), and on success its last line on stdout is the image ID; the
// record is then read back from the store, so what pull_image returns is what the store holds.
#pragma once

#include "images/store.hpp"

#include "common/result.hpp"

#include <string>

namespace hull::images {

struct PullOptions {
    std::string store_root;                 // absolute
    bool tls_verify = true;
    std::string creds;                      // "user:pass", empty: auth files
    std::string authfile;
    std::string platform;                   // "" = host
    bool quiet = false;
    int progress_fd = 2;                    // where hull-fetch's progress goes
    std::string cert_dir;                   // podman's --cert-dir: *.crt files are CAs; empty:
                                            // the system's and /etc/containers/certs.d/<host>
};

// Where hull-fetch is: $HULL_FETCH, else <dir of /proc/self/exe>/hull-fetch, else
// <that dir>/../libexec/hull/hull-fetch; the error names the places looked at.
Result<std::string> fetch_helper_path();

// Runs hull-fetch to pull `ref` into the store; returns the recorded image. Signals (Ctrl-C)
// reach the helper; its exit status becomes the error.
Result<ImageRecord> pull_image(const std::string& ref, const PullOptions& opts);

}  // namespace hull::images
