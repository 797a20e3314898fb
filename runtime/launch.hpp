// `hull launch`: run a container from an image in one step, as `docker run` / `podman run` do,
// with no daemon: resolve (or pull) the image, write a bundle under the image store, and hand
// it to run().
//
// The bundle is <store>/containers/<id>/: config.json, an empty rootfs/ mount point, the
// container's own etc/ files (hosts, hostname, resolv.conf), and for a named container that
// keeps its changes, upper/ and work/. The runtime mounts the image's layers as an overlay on
// rootfs/ inside the container's mount namespace (annotation org.hull.rootfs.overlay), so
// nothing is ever mounted on the host. The image's layers are pinned in the store under the
// container id until the container is deleted, which (through remove()) also unpins them and
// removes the bundle directory.
#pragma once

#include "common/result.hpp"
#include "runtime/container.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hull::runtime {

// The annotations launch() sets. kLaunchStore names the store whose containers/<id> is the
// bundle, so that deleting the container can unpin its layers and remove the bundle.
inline constexpr const char* kAnnotationOverlay = "org.hull.rootfs.overlay";
inline constexpr const char* kAnnotationLaunchStore = "org.hull.launch.store";
inline constexpr const char* kAnnotationLaunchImage = "org.hull.launch.image";
inline constexpr const char* kAnnotationIsolation = "org.hull.isolation";
inline constexpr const char* kAnnotationVmKernel = "org.hull.vm.kernel";

struct LaunchOptions {
    std::string image;                     // a reference as typed: "busybox", "quay.io/x/y:1", an image ID
    std::vector<std::string> cmd;          // the command after the image; empty: the image's
    std::string name;                      // --name: the container id; empty: 12 random hex digits
    bool remove = false;                   // --rm: delete the container once it exits
    bool interactive = false;              // -i: the container reads our stdin (else /dev/null)
    bool terminal = false;                 // -t: a pty, proxied to our stdio
    bool detach = false;                   // -d: start it and return; its output goes to <bundle>/output.log
    std::vector<std::string> env;          // -e K=V
    std::string workdir;                   // -w
    std::string user;                      // -u
    std::string hostname;                  // --hostname (default: the id)
    std::optional<std::string> entrypoint; // --entrypoint
    std::vector<std::string> volumes;      // -v SRC:DST[:ro]
    std::vector<std::string> devices;      // --device PATH
    bool read_only = false;                // --read-only: the root is read-only (root.readonly)
    std::optional<int64_t> memory;         // bytes
    std::optional<double> cpus;
    std::optional<int64_t> pids_limit;
    std::string network = "host";          // host | none
    bool vm = false;                       // --vm: run it in hull's micro-VM
    std::string store_root;                // the image store (absolute)
    bool tls_verify = true;                // for a pull
};

struct LaunchResult {
    std::string id;
    int exit_code = 0;                     // the container process's (128+N when killed by signal N); 0 when detached
};

// Runs the container. Fails without leaving anything behind (no bundle, pin, state, mount,
// cgroup); once the container has run, its exit code is the result. With `remove`, the
// container, its pin and its bundle are gone when this returns.
Result<LaunchResult> launch(const Globals& g, const LaunchOptions& opts);

// Called by remove() once a container's state is gone (launch_leftovers.cpp, which the static
// `hull` links without the image store): when its config carries
// kLaunchStore, unpins the container's layers in that store and removes its bundle, after
// checking the bundle is exactly <store>/containers/<id>. Anything else is left alone.
Status remove_launch_leftovers(const std::string& id, const std::string& bundle, const nlohmann::json& config);

}  // namespace hull::runtime
