// StrictModes as sshd's auth_secure_path (server/auth.cpp): the real path,
// the open file, each directory up to the home on its own descriptor.
#include "auth.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "catch.hpp"

namespace fs = std::filesystem;

namespace {

struct Home {
    std::string path;
    Home()
    {
        std::string t = (fs::temp_directory_path() / "feth-strict-XXXXXX").string();
        if (::mkdtemp(t.data()) == nullptr) throw std::runtime_error("mkdtemp");
        path = t;
        ::chmod(path.c_str(), 0700);
    }
    ~Home() { fs::remove_all(path); }
    std::string write_keys(const std::string& dir, mode_t dir_mode)
    {
        fs::create_directories(dir);
        ::chmod(dir.c_str(), dir_mode);
        const std::string f = dir + "/authorized_keys";
        std::ofstream(f) << "ssh-ed25519 AAAA test\n";
        ::chmod(f.c_str(), 0600);
        return f;
    }
};

const unsigned kUid = ::geteuid();

} // namespace

TEST_CASE("StrictModes: a safe file up to the home is read", "[strict_modes]")
{
    Home h;
    const std::string f = h.write_keys(h.path + "/.ssh", 0700);
    auto text = feth::server::read_authorized_keys_file(f, kUid, h.path);
    REQUIRE(text);
    CHECK(*text == "ssh-ed25519 AAAA test\n");
    // A directory the user may only search is fine (sshd stats, it does not read).
    ::chmod((h.path + "/.ssh").c_str(), 0711);
    CHECK(feth::server::read_authorized_keys_file(f, kUid, h.path));
    CHECK(!feth::server::read_authorized_keys_file(h.path + "/.ssh/missing", kUid, h.path));
}

TEST_CASE("StrictModes: a symlinked ~/.ssh whose target's parent is group-writable is refused", "[strict_modes]")
{
    Home h;
    // home/elsewhere (0775) / ssh / authorized_keys, and home/.ssh -> it:
    // the path as written (home, .ssh) looks fine; the real one is not.
    h.write_keys(h.path + "/elsewhere/ssh", 0700);
    ::chmod((h.path + "/elsewhere").c_str(), 0775);
    REQUIRE(::symlink((h.path + "/elsewhere/ssh").c_str(), (h.path + "/.ssh").c_str()) == 0);
    CHECK(!feth::server::read_authorized_keys_file(h.path + "/.ssh/authorized_keys", kUid, h.path));
    // The same tree made safe is read through the link.
    ::chmod((h.path + "/elsewhere").c_str(), 0755);
    CHECK(feth::server::read_authorized_keys_file(h.path + "/.ssh/authorized_keys", kUid, h.path));
}

TEST_CASE("StrictModes: the file's and each directory's owner and modes", "[strict_modes]")
{
    Home h;
    const std::string f = h.write_keys(h.path + "/.ssh", 0700);
    ::chmod(f.c_str(), 0620);
    CHECK(!feth::server::read_authorized_keys_file(f, kUid, h.path));
    ::chmod(f.c_str(), 0600);
    ::chmod((h.path + "/.ssh").c_str(), 0770);
    CHECK(!feth::server::read_authorized_keys_file(f, kUid, h.path));
    ::chmod((h.path + "/.ssh").c_str(), 0700);
    // The home itself is checked; above it, nothing (sshd stops there).
    ::chmod(h.path.c_str(), 0757);
    CHECK(!feth::server::read_authorized_keys_file(f, kUid, h.path));
    ::chmod(h.path.c_str(), 0700);
    CHECK(feth::server::read_authorized_keys_file(f, kUid, h.path));
    // Owned by someone else than root or the user.
    if (kUid == 0) {
        REQUIRE(::chown(f.c_str(), 12345, 12345) == 0);
        CHECK(!feth::server::read_authorized_keys_file(f, kUid, h.path));
        REQUIRE(::chown(f.c_str(), 0, 0) == 0);
    }
}

TEST_CASE("StrictModes: a root-owned sticky world-writable directory is refused, as sshd does", "[strict_modes]")
{
    Home h;
    const std::string f = h.write_keys(h.path + "/shared/u", 0700);
    ::chmod((h.path + "/shared").c_str(), 01777);
    CHECK(!feth::server::read_authorized_keys_file(f, kUid, h.path));
    // With no home to stop at, the walk goes to /: below /tmp (1777) too.
    ::chmod((h.path + "/shared").c_str(), 0755);
    if (fs::temp_directory_path() == "/tmp") CHECK(!feth::server::read_authorized_keys_file(f, kUid, ""));
}
