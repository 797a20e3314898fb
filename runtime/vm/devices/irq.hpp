// An interrupt line as a device sees it: a level it raises and lowers. hull's implementation
// drives a GSI of KVM's in-kernel IOAPIC/PIC; unit tests record the level.
#pragma once

namespace hull::vm {

class IrqLine {
public:
    virtual ~IrqLine() = default;
    virtual void set_level(bool high) = 0;
};

}  // namespace hull::vm
