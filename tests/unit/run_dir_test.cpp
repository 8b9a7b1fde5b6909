// client/run_dir and client/private_copies: the run's directory (made for
// the SSH part's user, removed with whatever that user left in it, swept
// when its feth-ssh is gone) and the private copies of known_hosts in it,
// the store macOS uses (Linux uses memfds; these tests run the directory
// store here so that it has run before a Mac runs it).
#include "client/private_copies.hpp"
#include "client/run_dir.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "catch.hpp"
#include "base/error.hpp"

namespace fs = std::filesystem;
using feth::client::PrivateCopies;
using feth::client::RunDir;

namespace {

// A base directory of the test's own (as /run/feth-ssh-client is, root's
// 0755), removed on every path.
class Base {
public:
    Base()
    {
        char tmpl[] = "/tmp/feth-run-dir-test.XXXXXX";
        if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
        top_ = tmpl;
        ::chmod(top_.c_str(), 0755);
        path_ = top_ + "/base";
    }
    ~Base()
    {
        std::error_code ec;
        fs::remove_all(top_, ec);
    }
    const std::string& path() const { return path_; }
    const std::string& top() const { return top_; }

private:
    std::string top_;
    std::string path_;
};

struct Nobody {
    uid_t uid = 0;
    gid_t gid = 0;
};

// nobody's ids, or nullopt when there is no usable nobody.
bool find_nobody(Nobody& n)
{
    const passwd* pw = ::getpwnam("nobody");
    if (pw == nullptr || pw->pw_uid == 0) return false;
    n.uid = pw->pw_uid;
    n.gid = pw->pw_gid;
    return true;
}

// Runs `body` in a child that has become `uid`/`gid`; its exit status
// (0: every check in it held).
int as_user(uid_t uid, gid_t gid, const std::function<int()>& body)
{
    const pid_t pid = ::fork();
    if (pid == 0) {
        if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) ::_exit(90);
        ::_exit(body());
    }
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}

std::string read_file(const std::string& path)
{
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A pid that no process has: a child that has been reaped.
pid_t gone_pid()
{
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    int st = 0;
    ::waitpid(pid, &st, 0);
    return pid;
}

bool root_with_nobody(Nobody& n)
{
    if (::geteuid() != 0) {
        WARN("not root: the run directory is made for another user only by root");
        return false;
    }
    if (!find_nobody(n)) {
        WARN("no user nobody here");
        return false;
    }
    return true;
}

} // namespace

TEST_CASE("RunDir: nobody's 0700 directory in a root-only base, removed with what nobody left in it",
          "[run_dir][root]")
{
    Nobody n;
    if (!root_with_nobody(n)) return;
    Base base;
    const std::string outside = base.top() + "/outside";
    std::ofstream(outside) << "root's file\n";
    std::string made;
    {
        RunDir dir(n.uid, n.gid, base.path());
        made = dir.path();
        struct stat st {};
        REQUIRE(::stat(base.path().c_str(), &st) == 0);
        CHECK(st.st_uid == 0);
        CHECK((st.st_mode & 07777) == 0755);
        REQUIRE(::stat(made.c_str(), &st) == 0);
        CHECK(st.st_uid == n.uid);
        CHECK(st.st_gid == n.gid);
        CHECK((st.st_mode & 07777) == 0700);
        CHECK(fs::path(made).filename().string().rfind(std::to_string(::getpid()) + ".", 0) == 0);
        // What a hostile SSH part could leave: files, nested directories, a
        // link to root's file and one to a directory outside.
        CHECK(as_user(n.uid, n.gid, [&] {
                  std::error_code ec;
                  fs::create_directories(made + "/a/b/c", ec);
                  if (ec) return 1;
                  std::ofstream(made + "/a/b/c/f") << "x";
                  std::ofstream(made + "/file") << "y";
                  fs::create_symlink(outside, made + "/link", ec);
                  fs::create_directory_symlink(base.top(), made + "/a/dirlink", ec);
                  return ec ? 2 : 0;
              }) == 0);
    }
    CHECK_FALSE(fs::exists(made));
    CHECK(read_file(outside) == "root's file\n");
    CHECK(fs::exists(base.path()));
}

TEST_CASE("RunDir: a base others can write is refused, naming it", "[run_dir][root]")
{
    Nobody n;
    if (!root_with_nobody(n)) return;
    Base base;
    REQUIRE(::mkdir(base.path().c_str(), 0777) == 0);
    REQUIRE(::chmod(base.path().c_str(), 0777) == 0);
    REQUIRE_THROWS_WITH(RunDir(n.uid, n.gid, base.path()), FETH_CATCH_CONTAINS(base.path()) &&
                                                               FETH_CATCH_CONTAINS("writable by others"));
    CHECK(fs::is_empty(base.path()));
}

TEST_CASE("sweep_run_dirs: the directories of gone runs go, live ones and other names stay", "[run_dir][root]")
{
    Nobody n;
    if (!root_with_nobody(n)) return;
    Base base;
    REQUIRE(::mkdir(base.path().c_str(), 0755) == 0);
    const std::string gone = base.path() + "/" + std::to_string(gone_pid()) + ".AbC123";
    const std::string live = base.path() + "/" + std::to_string(::getpid()) + ".XyZ789";
    const std::string other = base.path() + "/not-a-run";
    for (const auto& d : {gone, live, other}) REQUIRE(::mkdir(d.c_str(), 0700) == 0);
    REQUIRE(::chown(gone.c_str(), n.uid, n.gid) == 0);
    std::ofstream(gone + "/known_hosts.0") << "line\n";
    REQUIRE(::mkdir((gone + "/sub").c_str(), 0700) == 0);
    CHECK(feth::client::sweep_run_dirs(base.path()) == 1);
    CHECK_FALSE(fs::exists(gone));
    CHECK(fs::exists(live));
    CHECK(fs::exists(other));
    // A new run sweeps too: the one left by a killed root part is gone
    // once the next feth-ssh starts.
    const std::string gone2 = base.path() + "/" + std::to_string(gone_pid()) + ".q1w2e3";
    REQUIRE(::mkdir(gone2.c_str(), 0700) == 0);
    {
        RunDir dir(n.uid, n.gid, base.path());
        CHECK_FALSE(fs::exists(gone2));
    }
    CHECK(feth::client::sweep_run_dirs(base.path() + "/missing") == 0);
}

TEST_CASE("PrivateCopies, directory store: nobody reads and appends, no one else reaches it",
          "[run_dir][private_copies][root]")
{
    Nobody n;
    if (!root_with_nobody(n)) return;
    Base base;
    const std::string kh = base.top() + "/known_hosts";
    std::ofstream(kh) << "host1 ssh-ed25519 AAAA\n";
    ::chmod(kh.c_str(), 0600);
    RunDir dir(n.uid, n.gid, base.path());
    PrivateCopies copies(PrivateCopies::Store::Directory, dir.path(), n.uid, n.gid);
    REQUIRE(copies.add(kh, true));
    CHECK_FALSE(copies.add(base.top() + "/missing", false));
    REQUIRE(copies.add(base.top() + "/created", true));
    const auto paths = copies.paths();
    REQUIRE(paths.size() == 2);
    const std::string copy = paths.at(kh);
    CHECK(fs::path(copy).parent_path() == fs::path(dir.path()));
    struct stat st {};
    REQUIRE(::stat(copy.c_str(), &st) == 0);
    CHECK(st.st_uid == n.uid);
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(read_file(copy) == "host1 ssh-ed25519 AAAA\n");
    CHECK(read_file(paths.at(base.top() + "/created")).empty());
    // Read twice as libssh does (each open from the start: no shared
    // offset, the reason macOS does not use /dev/fd/N), then append.
    CHECK(as_user(n.uid, n.gid, [&] {
              if (read_file(copy) != "host1 ssh-ed25519 AAAA\n" || read_file(copy) != "host1 ssh-ed25519 AAAA\n")
                  return 1;
              std::ofstream(copy, std::ios::app) << "host2 ssh-ed25519 BBBB\npartial";
              return 0;
          }) == 0);
    const auto added = copies.take_appended(kh);
    REQUIRE(added.size() == 1);
    CHECK(added[0] == "host2 ssh-ed25519 BBBB");
    CHECK(copies.take_appended(kh).empty()); // the partial line waits
    // Another user reaches neither the directory nor the copy.
    const uid_t other = n.uid == 65533 ? 65532 : 65533;
    CHECK(as_user(other, other, [&] {
              errno = 0;
              const int fd = ::open(copy.c_str(), O_RDONLY);
              return fd < 0 && errno == EACCES ? 0 : 1;
          }) == 0);
    CHECK(read_file(kh) == "host1 ssh-ed25519 AAAA\n"); // root's file untouched
}
