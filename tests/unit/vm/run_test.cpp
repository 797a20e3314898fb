// Boots hand-assembled guests on /dev/kvm through run_vm: each boot protocol, the exit port, the
// i8042 reset, and the failures (triple fault, unmapped access, timeout), plus a stop request.
#include "runtime/vm/vm.hpp"
#include "tests/unit/vm/guest_images.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

namespace hull::vm {
namespace {

using test::make_bzimage;
using test::make_elf;
using test::print_and_exit;

struct TempFile {
    std::string path;
    explicit TempFile(const std::vector<std::uint8_t>& bytes) {
        char tmpl[] = "/tmp/hull-vm-kernel-XXXXXX";
        const int fd = ::mkstemp(tmpl);
        path = tmpl;
        EXPECT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
        ::close(fd);
    }
    ~TempFile() { ::unlink(path.c_str()); }
};

struct Pipe {
    int fds[2] = {-1, -1};
    Pipe() { EXPECT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0); }
    ~Pipe() {
        ::close(fds[0]);
        ::close(fds[1]);
    }
    std::string drain() const {
        std::string s;
        char buf[256];
        ssize_t n;
        while ((n = ::read(fds[0], buf, sizeof buf)) > 0) s.append(buf, static_cast<std::size_t>(n));
        return s;
    }
};

class VmRun : public ::testing::Test {
protected:
    void SetUp() override {
        if (::access("/dev/kvm", R_OK | W_OK) != 0) GTEST_SKIP() << "needs a usable /dev/kvm";
    }
    // Boots `image` with output to a pipe and no input.
    Result<int> boot(const std::vector<std::uint8_t>& image, std::uint64_t timeout_ms = 10000, unsigned cpus = 1) {
        TempFile kernel(image);
        VmConfig c;
        c.kernel = kernel.path;
        c.memory = 16ull << 20;
        c.cpus = cpus;
        c.in_fd = -1;
        c.out_fd = out.fds[1];
        c.timeout_ms = timeout_ms;
        return run_vm(c);
    }
    Pipe out;
};

TEST_F(VmRun, Linux64ElfPrintsAndExits) {
    const auto r = boot(make_elf(print_and_exit("Hi\n", 42), false));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, 42);
    EXPECT_EQ(out.drain(), "Hi\n");
}

TEST_F(VmRun, PvhElf64And32) {
    auto r = boot(make_elf(print_and_exit("pvh", 7), true));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, 7);
    EXPECT_EQ(out.drain(), "pvh");
    r = boot(make_elf(print_and_exit("32", 8), true, false));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, 8);
    EXPECT_EQ(out.drain(), "32");
}

TEST_F(VmRun, BzImageEntersAt0x200) {
    const auto r = boot(make_bzimage(0x020f, 1, print_and_exit("bz", 9)));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, 9);
    EXPECT_EQ(out.drain(), "bz");
}

TEST_F(VmRun, HostInputReachesTheUart) {
    // Polls LSR.DR, reads RBR and exits with the byte it got.
    const std::vector<std::uint8_t> code = {0x66, 0xba, 0xfd, 0x03,  // mov dx, 0x3fd
                                            0xec,                    // in al, dx
                                            0xa8, 0x01,              // test al, 1
                                            0x74, 0xfb,              // jz back to the in
                                            0x66, 0xba, 0xf8, 0x03,  // mov dx, 0x3f8
                                            0xec,                    // in al, dx
                                            0x66, 0xba, 0x01, 0x05,  // mov dx, 0x501
                                            0xee, 0xf4};             // out dx, al; hlt
    TempFile kernel(make_elf(code, false));
    Pipe in;
    ASSERT_EQ(::write(in.fds[1], "A", 1), 1);
    VmConfig c;
    c.kernel = kernel.path;
    c.memory = 16ull << 20;
    c.in_fd = in.fds[0];
    c.out_fd = out.fds[1];
    c.timeout_ms = 10000;
    const auto r = run_vm(c);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, 'A');
}

TEST_F(VmRun, PvhInitrdIsModuleZero) {
    // 32-bit PVH code: ebx = hvm_start_info; exit with the first byte of module 0 plus its size.
    const std::vector<std::uint8_t> code = {0x8b, 0x43, 0x10,        // mov eax, [ebx + 16] (modlist_paddr)
                                            0x8b, 0x48, 0x08,        // mov ecx, [eax + 8] (size)
                                            0x8b, 0x00,              // mov eax, [eax] (paddr)
                                            0x8a, 0x00,              // mov al, [eax]
                                            0x00, 0xc8,              // add al, cl
                                            0x66, 0xba, 0x01, 0x05,  // mov dx, 0x501
                                            0xee, 0xf4};             // out dx, al; hlt
    TempFile kernel(make_elf(code, true, false));
    TempFile initrd(std::vector<std::uint8_t>(10, 30));  // first byte 30, 10 bytes
    VmConfig c;
    c.kernel = kernel.path;
    c.initrd = initrd.path;
    c.memory = 16ull << 20;
    c.in_fd = -1;
    c.out_fd = out.fds[1];
    c.timeout_ms = 10000;
    const auto r = run_vm(c);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, 40);
}

TEST_F(VmRun, TwoVcpus) {
    const auto r = boot(make_elf(print_and_exit("smp", 3), false), 10000, 2);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, 3);
}

TEST_F(VmRun, I8042ResetIsStatusZero) {
    const auto r = boot(make_elf({0xb0, 0xfe, 0xe6, 0x64, 0xf4}, false));  // mov al, 0xfe; out 0x64, al
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, 0);
}

TEST_F(VmRun, AcpiPowerOffIsStatusZero) {
    // mov dx, 0x600; mov al, SLP_EN | (5 << 2); out dx, al: the FADT's sleep control register.
    const auto r = boot(make_elf({0x66, 0xba, 0x00, 0x06, 0xb0, 0x34, 0xee, 0xf4}, false));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, 0);
}

TEST_F(VmRun, TripleFault) {
    const auto r = boot(make_elf({0x0f, 0x0b}, false));  // ud2 with no IDT
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("guest triple-faulted (rip 0x"), std::string::npos)
        << r.error().message();
}

TEST_F(VmRun, AccessOutsideRamAndDevices) {
    // mov eax, [0xe0000000]: in the MMIO hole, where no device is.
    const auto r = boot(make_elf({0xa1, 0, 0, 0, 0xe0, 0, 0, 0, 0, 0xf4}, false));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("guest read from 0xe0000000, which is neither RAM nor a device"),
              std::string::npos)
        << r.error().message();
}

TEST_F(VmRun, Timeout) {
    const auto r = boot(make_elf({0xeb, 0xfe}, false), 200);  // jmp $
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("guest still running after the 200 ms timeout (rip 0x"), std::string::npos)
        << r.error().message();
}

TEST_F(VmRun, StopRequest) {
    TempFile kernel(make_elf({0xeb, 0xfe}, false));
    VmConfig c;
    c.kernel = kernel.path;
    c.memory = 16ull << 20;
    c.in_fd = -1;
    c.out_fd = out.fds[1];
    auto vm = Vm::create(c);
    ASSERT_TRUE(vm) << vm.error().message();
    auto stop = StopSource::create();
    ASSERT_TRUE(stop);
    std::thread stopper([&] { stop->request_stop(143); });
    const auto r = vm->run(&*stop);
    stopper.join();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(*r, 143);
}

TEST(VmSetup, NoKvm) {
    TempFile kernel(make_elf({0xf4}, false));
    VmConfig c;
    c.kernel = kernel.path;
    c.kvm_path = "/nonexistent/kvm";
    const auto r = run_vm(c);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(),
              "kvm is not available (no kvm module or no /dev/kvm in this namespace): open `/nonexistent/kvm`: no "
              "such file or directory");
}

TEST(VmSetup, BadInputs) {
    VmConfig c;
    c.kernel = "/nonexistent/vmlinux";
    auto r = run_vm(c);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "open kernel `/nonexistent/vmlinux`: no such file or directory");

    TempFile text(std::vector<std::uint8_t>(1000, 'x'));
    c.kernel = text.path;
    r = run_vm(c);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "kernel `" + text.path + "`: not a kernel: neither an ELF file nor a bzImage");

    TempFile kernel(make_elf({0xf4}, false));
    c.kernel = kernel.path;
    c.memory = 1 << 20;
    r = run_vm(c);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "guest memory of 1048576 bytes is less than the minimum of 2 MiB");
    c.memory = 16 << 20;
    c.cpus = 0;
    EXPECT_FALSE(run_vm(c));
    c.cpus = 1;
    c.disks = {{"/nonexistent/disk", false}};
    r = run_vm(c);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message(), "open disk `/nonexistent/disk`: no such file or directory");
}

TEST(VmSetup, MemorySizes) {
    EXPECT_EQ(*parse_memory_size("128M"), 128ull << 20);
    EXPECT_EQ(*parse_memory_size("2g"), 2ull << 30);
    EXPECT_EQ(*parse_memory_size("4096"), 4096u);
    EXPECT_EQ(*parse_memory_size("64K"), 64ull << 10);
    EXPECT_FALSE(parse_memory_size("M"));
    EXPECT_FALSE(parse_memory_size("12X"));
    EXPECT_FALSE(parse_memory_size("0"));
    EXPECT_FALSE(parse_memory_size("99999999999999999999G"));
}

}  // namespace
}  // namespace hull::vm
