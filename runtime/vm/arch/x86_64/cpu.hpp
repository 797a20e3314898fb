// vCPU state per boot protocol: CPUID normalized for the guest's topology, MSRs, FPU, LAPIC
// wiring, and the registers and segments each protocol enters the kernel with.
#pragma once

#include "common/result.hpp"
#include "runtime/vm/arch/x86_64/boot.hpp"

#include <linux/kvm.h>

#include <vector>

namespace hull::vm::x86_64 {

// KVM's supported CPUID made to describe vCPU `index` of `count`: hypervisor bit set, APIC id and
// logical processor count in leaf 1, cores per package in leaf 4, x2APIC topology in 0xb/0x1f.
void normalize_cpuid(std::vector<kvm_cpuid_entry2>& entries, unsigned index, unsigned count);

// Everything but the entry registers: CPUID, MSRs, FPU, LAPIC LINT0/LINT1.
Status setup_vcpu(int vcpu_fd, const std::vector<kvm_cpuid_entry2>& supported, unsigned index, unsigned count);

// The boot processor's registers and segments for the kernel's protocol.
Status setup_boot_registers(int vcpu_fd, const KernelImage& k);

}  // namespace hull::vm::x86_64
