#include "host_keys.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "catch.hpp"
#include "base/error.hpp"

namespace fs = std::filesystem;

namespace {

struct TempDir {
    std::string path;
    TempDir()
    {
        std::string t = (fs::temp_directory_path() / "feth-hostkeys-XXXXXX").string();
        if (::mkdtemp(t.data()) == nullptr) throw std::runtime_error("mkdtemp");
        path = t;
    }
    ~TempDir() { fs::remove_all(path); }
};

mode_t mode_of(const std::string& p)
{
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

} // namespace

TEST_CASE("host keys: generated 0600 in a private state directory, loaded; refused when others can read them",
          "[host_keys]")
{
    TempDir t;
    const std::string state = t.path + "/state";
    auto paths = feth::server::resolve_host_keys({}, state);
    REQUIRE(paths.size() == 1);
    CHECK(mode_of(state) == 0700);
    CHECK(mode_of(paths[0]) == 0600);
    CHECK(!fs::exists(paths[0] + ".new"));
    CHECK(!feth::server::HostKeys::load(paths).empty());

    // sshd's rule: group or world readable is too open; the key is not
    // loaded and, with no other key, the server does not start.
    ::chmod(paths[0].c_str(), 0644);
    std::string what;
    try {
        feth::server::HostKeys::load(paths);
    } catch (const feth::InputError& e) {
        what = e.what();
    }
    CHECK(what == "no hostkeys available -- exiting.");
    ::chmod(paths[0].c_str(), 0640);
    CHECK_THROWS_AS(feth::server::HostKeys::load(paths), feth::InputError);
    ::chmod(paths[0].c_str(), 0600);
    CHECK(!feth::server::HostKeys::load(paths).empty());
}

TEST_CASE("host keys: a state directory others can write is refused; a planted .new symlink is not followed",
          "[host_keys]")
{
    TempDir t;
    const std::string state = t.path + "/state";
    REQUIRE(::mkdir(state.c_str(), 0700) == 0);
    ::chmod(state.c_str(), 0770);
    CHECK_THROWS_AS(feth::server::resolve_host_keys({}, state), feth::InputError);
    ::chmod(state.c_str(), 0700);
    // A symlink where the new key is written: removed, never written through.
    const std::string victim = t.path + "/victim";
    REQUIRE(::symlink(victim.c_str(), (state + "/ssh_host_ed25519_key.new").c_str()) == 0);
    auto paths = feth::server::resolve_host_keys({}, state);
    CHECK(!fs::exists(victim));
    CHECK(mode_of(paths[0]) == 0600);
    // A symlinked state directory is refused (O_NOFOLLOW on the last part).
    const std::string link = t.path + "/link";
    REQUIRE(::symlink(state.c_str(), link.c_str()) == 0);
    CHECK_THROWS(feth::server::resolve_host_keys({}, link));
}
