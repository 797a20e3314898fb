// hull's configuration file (runtime/vm/config.hpp): the `vm` section, its defaults, and every
// kind of error with its JSON path.
#include "runtime/vm/config.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace hull::vm {
namespace {

TEST(HullConfig, FullVmSection) {
    auto c = parse_hull_config(
        R"({"vm": {"kernel": "/boot/vmlinux", "modules": "/lib/modules/6.1.0", "memory": "512M", "cpus": 2}})", "cfg");
    ASSERT_TRUE(c) << c.error().message();
    ASSERT_TRUE(c->vm);
    EXPECT_EQ(c->vm->kernel, "/boot/vmlinux");
    EXPECT_EQ(c->vm->modules, "/lib/modules/6.1.0");
    EXPECT_EQ(c->vm->memory, 512ull << 20);
    EXPECT_EQ(c->vm->cpus, 2u);
}

TEST(HullConfig, OnlyTheKernelIsRequired) {
    auto c = parse_hull_config(R"({"vm": {"kernel": "/k"}})", "cfg");
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(c->vm->modules, "");
    EXPECT_EQ(c->vm->memory, 0u);
    EXPECT_EQ(c->vm->cpus, 0u);
}

TEST(HullConfig, NoVmSectionAndOtherKeysAreFine) {
    auto c = parse_hull_config(R"({"somethingElse": {"x": 1}})", "cfg");
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_FALSE(c->vm);
    c = parse_hull_config(R"({"vm": null})", "cfg");
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_FALSE(c->vm);
}

TEST(HullConfig, ErrorsNameTheFileAndThePath) {
    struct Case {
        const char* text;
        const char* message;
    };
    const Case cases[] = {
        {"{", "`/etc/hull/config.json`: invalid JSON at line 1, column 2"},
        {"[]", "`/etc/hull/config.json`: expected an object, got array"},
        {R"({"vm": 1})", "`/etc/hull/config.json`: .vm: expected an object, got number"},
        {R"({"vm": {}})", "`/etc/hull/config.json`: .vm.kernel: is required"},
        {R"({"vm": {"kernel": 7}})", "`/etc/hull/config.json`: .vm.kernel: expected a string, got number"},
        {R"({"vm": {"kernel": ""}})", "`/etc/hull/config.json`: .vm.kernel: must not be empty"},
        {R"({"vm": {"kernel": "boot/vmlinux"}})", "`/etc/hull/config.json`: .vm.kernel: must be an absolute path, got `boot/vmlinux`"},
        {R"({"vm": {"kernel": "/k", "modules": "lib"}})", "`/etc/hull/config.json`: .vm.modules: must be an absolute path, got `lib`"},
        {R"({"vm": {"kernel": "/k", "memory": 512}})", "`/etc/hull/config.json`: .vm.memory: expected a string, got number"},
        {R"({"vm": {"kernel": "/k", "memory": "lots"}})", "`/etc/hull/config.json`: .vm.memory: invalid memory size `lots`"},
        {R"({"vm": {"kernel": "/k", "memory": "1M"}})", "`/etc/hull/config.json`: .vm.memory: must be at least 2 MiB, got `1M`"},
        {R"({"vm": {"kernel": "/k", "cpus": 0}})", "`/etc/hull/config.json`: .vm.cpus: must be between 1 and 254, got `0`"},
        {R"({"vm": {"kernel": "/k", "cpus": 1.5}})", "`/etc/hull/config.json`: .vm.cpus: expected an integer, got `1.5`"},
        {R"({"vm": {"kernel": "/k", "kernal": "/k"}})", "`/etc/hull/config.json`: .vm.kernal: unknown key"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.text);
        auto r = parse_hull_config(c.text, "`/etc/hull/config.json`");
        ASSERT_FALSE(r);
        std::string m = r.error().message();
        EXPECT_EQ(m.rfind(c.message, 0), 0u) << m;
        EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    }
}

class HullConfigFile : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/hull-config-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override {
        ::unsetenv("HULL_CONFIG");
        std::filesystem::remove_all(dir_);
    }
    std::string dir_;
};

TEST_F(HullConfigFile, PathComesFromTheEnvironment) {
    ::unsetenv("HULL_CONFIG");
    EXPECT_EQ(config_path(), "/etc/hull/config.json");
    ::setenv("HULL_CONFIG", "", 1);
    EXPECT_EQ(config_path(), "/etc/hull/config.json");
    ::setenv("HULL_CONFIG", (dir_ + "/c.json").c_str(), 1);
    EXPECT_EQ(config_path(), dir_ + "/c.json");
}

TEST_F(HullConfigFile, MissingFileIsNoConfigAndABadOneAnError) {
    ::setenv("HULL_CONFIG", (dir_ + "/absent.json").c_str(), 1);
    auto none = load_hull_config();
    ASSERT_TRUE(none) << none.error().message();
    EXPECT_FALSE(*none);

    std::string path = dir_ + "/c.json";
    ::setenv("HULL_CONFIG", path.c_str(), 1);
    std::ofstream(path) << R"({"vm": {"kernel": "/boot/vmlinux", "cpus": 3}})";
    auto c = load_hull_config();
    ASSERT_TRUE(c) << c.error().message();
    ASSERT_TRUE(*c && (*c)->vm);
    EXPECT_EQ((*c)->vm->cpus, 3u);

    std::ofstream(path) << R"({"vm": {"cpus": 3}})";
    auto bad = load_hull_config();
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message(), "`" + path + "`: .vm.kernel: is required");

    // A directory where the file should be: an error, not "no config".
    std::filesystem::create_directory(dir_ + "/d.json");
    ::setenv("HULL_CONFIG", (dir_ + "/d.json").c_str(), 1);
    EXPECT_FALSE(load_hull_config());
}

}  // namespace
}  // namespace hull::vm
