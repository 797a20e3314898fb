// A config.json that sets (nearly) every field hull models, plus fields it does not, for the
// round-trip and truncation tests.
#pragma once

inline constexpr const char* kFullConfig = R"json({
  "ociVersion": "1.2.0",
  "root": {"path": "rootfs", "readonly": true},
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/data", "type": "bind", "source": "/srv/data", "options": ["rbind", "ro", "idmap"],
     "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
     "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
     "x-extra": {"kept": true}}
  ],
  "process": {
    "terminal": true,
    "consoleSize": {"height": 24, "width": 80},
    "user": {"uid": 1000, "gid": 1000, "umask": 18, "additionalGids": [5, 6], "username": "app"},
    "cwd": "/home/app",
    "env": ["PATH=/usr/bin:/bin", "TERM=xterm", "EMPTY="],
    "args": ["/bin/sh", "-c", "echo hi"],
    "rlimits": [
      {"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 4096},
      {"type": "RLIMIT_CORE", "soft": 0, "hard": 18446744073709551615}
    ],
    "apparmorProfile": "hull-default",
    "capabilities": {
      "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHECKPOINT_RESTORE"],
      "effective": ["CAP_KILL"],
      "inheritable": [],
      "permitted": ["CAP_KILL", "CAP_CHOWN"],
      "ambient": ["CAP_KILL"]
    },
    "noNewPrivileges": true,
    "oomScoreAdj": -500,
    "scheduler": {"policy": "SCHED_DEADLINE", "flags": ["SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM"],
                  "runtime": 100000, "deadline": 200000, "period": 300000},
    "selinuxLabel": "system_u:system_r:container_t:s0",
    "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 4},
    "execCPUAffinity": {"initial": "0-1", "final": "2,3"},
    "commandLine": "kept for windows"
  },
  "hostname": "box",
  "domainname": "example.org",
  "hooks": {
    "prestart": [{"path": "/usr/bin/netns-hook", "args": ["netns-hook", "up"], "env": ["A=1"], "timeout": 5}],
    "createRuntime": [{"path": "/bin/true"}],
    "createContainer": [{"path": "/bin/true"}],
    "startContainer": [{"path": "/bin/true"}],
    "poststart": [{"path": "/bin/true"}],
    "poststop": [{"path": "/bin/true", "timeout": 1}]
  },
  "annotations": {"org.example.key": "value", "empty": ""},
  "linux": {
    "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
    "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
    "timeOffsets": {"monotonic": {"secs": -10, "nanosecs": 5}, "boottime": {"secs": 3600}},
    "sysctl": {"net.ipv4.ip_forward": "1"},
    "resources": {
      "devices": [
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"}
      ],
      "memory": {"limit": 536870912, "reservation": 268435456, "swap": -1, "kernel": -1, "kernelTCP": 0,
                 "swappiness": 10, "disableOOMKiller": false, "useHierarchy": true, "checkBeforeUpdate": true},
      "cpu": {"shares": 1024, "quota": 100000, "burst": 50000, "period": 100000, "realtimeRuntime": 950000,
              "realtimePeriod": 1000000, "cpus": "0-3", "mems": "0", "idle": 1},
      "pids": {"limit": 32771},
      "blockIO": {
        "weight": 500, "leafWeight": 300,
        "weightDevice": [{"major": 8, "minor": 0, "weight": 500, "leafWeight": 300}, {"major": 8, "minor": 16, "weight": 200}],
        "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 600}],
        "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 700}],
        "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 80}],
        "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 300}]
      },
      "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200}, {"pageSize": "1GB", "limit": 0}],
      "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500}]},
      "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}, "mlx4_0": {"hcaObjects": 1000}},
      "unified": {"io.max": "259:0 rbps=2097152", "memory.high": "max"}
    },
    "cgroupsPath": "/hull/box",
    "namespaces": [
      {"type": "pid"}, {"type": "network", "path": "/var/run/netns/box"}, {"type": "mount"}, {"type": "ipc"},
      {"type": "uts"}, {"type": "user"}, {"type": "cgroup"}, {"type": "time"}
    ],
    "devices": [
      {"type": "c", "path": "/dev/fuse", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0},
      {"type": "p", "path": "/dev/myfifo"}
    ],
    "seccomp": {
      "defaultAction": "SCMP_ACT_ERRNO",
      "defaultErrnoRet": 1,
      "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      "flags": ["SECCOMP_FILTER_FLAG_LOG"],
      "listenerPath": "/run/seccomp-agent.sock",
      "listenerMetadata": "meta",
      "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 255, "valueTwo": 8, "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["mount"], "action": "SCMP_ACT_NOTIFY"},
        {"names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
      ]
    },
    "rootfsPropagation": "rslave",
    "maskedPaths": ["/proc/kcore"],
    "readonlyPaths": ["/proc/sys"],
    "mountLabel": "system_u:object_r:container_file_t:s0",
    "intelRdt": {"closID": "guaranteed", "l3CacheSchema": "L3:0=7f0", "memBwSchema": "MB:0=20", "enableCMT": true, "enableMBM": false},
    "personality": {"domain": "LINUX32", "flags": []},
    "netDevices": {"eth1": {"name": "eth0"}}
  },
  "vm": {"hypervisor": {"path": "/usr/bin/qemu"}, "kernel": {"path": "/boot/vmlinuz"}},
  "windows": {"layerFolders": ["C:\\layers"]},
  "x-vendor": [1, 2, 3]
})json";
