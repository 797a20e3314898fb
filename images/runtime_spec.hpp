// Image config + `hull launch` options -> runtime-spec config.json, following the OCI
// image-spec's conversion rules and the defaults podman gives a container: podman's capability
// set, the default masked and read-only paths, the standard mounts, a NOFILE rlimit, and a
// seccomp profile with the effect of docker's default.
//
// The container's own files (etc/hosts, etc/hostname, etc/resolv.conf and a directory per
// image VOLUME) are written under SpecOptions::container_dir and bind-mounted into it.
#pragma once

#include "common/result.hpp"
#include "oci-spec/image.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hull::images {

struct SpecOptions {
    std::string id;                          // container id; the default hostname
    std::string hostname;                    // overrides the id as hostname
    std::optional<std::string> entrypoint;   // --entrypoint: "" clears the image's, else replaces it (one word, as docker)
    std::vector<std::string> cmd;            // CMD... after the image; empty: the image's Cmd
    std::vector<std::string> env;            // -e: K=V sets; a bare K copies hull's own value when set
    std::string workdir;                     // -w
    std::string user;                        // -u: name|uid[:group|gid]
    bool terminal = false;                   // -t
    bool read_only = false;                  // --read-only: root.readonly
    std::vector<std::string> volumes;        // -v SRC:DST[:ro|rw], SRC an absolute host path
    std::vector<std::string> devices;        // --device HOST[:CONTAINER][:rwm]
    std::optional<int64_t> memory;           // bytes
    std::optional<double> cpus;              // -> cpu quota over period 100000
    std::optional<int64_t> pids_limit;
    std::string network = "host";            // "host": the host's network namespace; "none": a private one with only lo
    std::vector<std::string> layers;         // the image's layer dirs, TOP first: where /etc/passwd, /etc/group are read
    std::string container_dir;               // absolute; the bundle dir. etc/hosts, etc/hostname, etc/resolv.conf are written under <container_dir>/etc/ and bind-mounted; image VOLUMEs get dirs under <container_dir>/volumes/

    // Where the host's files are read from; tests point these elsewhere.
    std::string host_hosts = "/etc/hosts";
    std::string host_resolv_conf = "/etc/resolv.conf";
};

// Writes the container's own files under container_dir and returns config.json's content;
// root.path is "rootfs" (relative to container_dir). Errors name the bad option.
Result<nlohmann::json> make_runtime_spec(const oci::ImageConfig& image, const SpecOptions& opts);

}  // namespace hull::images
