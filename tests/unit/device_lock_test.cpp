// tunnel/device_lock: one owner per interface name, and on Linux the sweep
// of the per-namespace directories whose network namespace is gone.
#include "tunnel/device_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "base/fd.hpp"

namespace fs = std::filesystem;
using feth::UniqueFd;
namespace device_lock = feth::device_lock;

namespace {

// A lock directory of the test's own, removed on every path. In memory
// where there is /dev/shm, as /run is: on a disk, the race below makes and
// removes directories slowly.
class LockDir {
public:
    LockDir()
    {
        char shm[] = "/dev/shm/feth-device-lock.XXXXXX";
        char tmp[] = "/tmp/feth-device-lock.XXXXXX";
        const char* made = ::mkdtemp(shm);
        if (made == nullptr) made = ::mkdtemp(tmp);
        if (made == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = made;
    }
    ~LockDir()
    {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    LockDir(const LockDir&) = delete;
    LockDir& operator=(const LockDir&) = delete;
    std::string str() const { return path_.string(); }
    fs::path operator/(const std::string& name) const { return path_ / name; }

private:
    fs::path path_;
};

} // namespace

TEST_CASE("device lock: a second reservation of a held name is refused, naming the holder", "[device_lock]")
{
    LockDir dir;
    const std::vector<std::string> names{"feth3", "feth5003"};
    device_lock::Busy busy;
    auto first = device_lock::reserve(names, "alice from 198.18.0.2 port 51000", busy, dir.str());
    REQUIRE(first);
    auto second = device_lock::reserve(names, "bob", busy, dir.str());
    CHECK_FALSE(second);
    CHECK(busy.name == "feth3");
    CHECK(busy.holder == "pid " + std::to_string(::getpid()) + " (alice from 198.18.0.2 port 51000)");
    first.reset();
    CHECK(device_lock::reserve(names, "bob", busy, dir.str()));
}

#if defined(__linux__)

namespace {

// Whether a lock file is held by someone: a lock of our own fails then.
bool held(const fs::path& file)
{
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw std::runtime_error("open " + file.string() + " failed");
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return false;
    return errno == EWOULDBLOCK;
}

std::string own_namespace_directory()
{
    struct stat ns {};
    if (::stat("/proc/self/ns/net", &ns) != 0) throw std::runtime_error("stat /proc/self/ns/net failed");
    return "net-" + std::to_string(static_cast<unsigned long long>(ns.st_ino));
}

void write_file(const fs::path& path, const std::string& text)
{
    std::ofstream out(path);
    out << text;
    if (!out) throw std::runtime_error("writing " + path.string() + " failed");
}

} // namespace

TEST_CASE("device lock sweep: directories of gone namespaces go with the locks nobody holds; held locks, the "
          "live namespace's directory and other files stay",
          "[device_lock]")
{
    LockDir dir;
    const std::string live = own_namespace_directory();
    // The last name let go takes this namespace's directory with it.
    {
        device_lock::Busy busy;
        const std::vector<std::string> names{"tap1", "tap2"};
        auto r = device_lock::reserve(names, "test", busy, dir.str());
        REQUIRE(r);
        REQUIRE(fs::exists(dir / live / "tap1"));
    }
    CHECK_FALSE(fs::exists(dir / live));
    // This namespace's directory, empty: it stays (the namespace lives).
    fs::create_directory(dir / live);
    // Namespace inodes no namespace of this host has (they are 32-bit).
    const std::string empty = "net-99999999999001", stale = "net-99999999999002", busy_dir = "net-99999999999003",
                      foreign = "net-99999999999004";
    fs::create_directory(dir / empty);
    // A lock file whose holder was killed: the file is left, unlocked.
    fs::create_directory(dir / stale);
    write_file(dir / stale / "feth5", "pid 1 (killed)\n");
    // A lock someone holds (a lock of ours on another open file).
    fs::create_directory(dir / busy_dir);
    write_file(dir / busy_dir / "feth6", "pid 1 (holder)\n");
    UniqueFd holder(::open((dir / busy_dir / "feth6").c_str(), O_RDWR | O_CLOEXEC));
    REQUIRE(holder);
    REQUIRE(::flock(holder.get(), LOCK_EX | LOCK_NB) == 0);
    // A file that is no lock of ours, and a directory not named for a namespace.
    fs::create_directory(dir / foreign);
    write_file(dir / foreign / "not a name", "");
    fs::create_directory(dir / "net-0123");
    fs::create_directory(dir / "other");

    CHECK(device_lock::sweep_namespace_directories(dir.str()) == 2);
    CHECK_FALSE(fs::exists(dir / empty));
    CHECK_FALSE(fs::exists(dir / stale));
    CHECK(fs::exists(dir / busy_dir / "feth6"));
    CHECK(held(dir / busy_dir / "feth6"));
    CHECK(fs::exists(dir / foreign / "not a name"));
    CHECK(fs::exists(dir / live));
    CHECK(fs::exists(dir / "net-0123"));
    CHECK(fs::exists(dir / "other"));

    // Once the holder lets go, the next sweep takes it.
    holder.reset();
    CHECK(device_lock::sweep_namespace_directories(dir.str()) == 1);
    CHECK_FALSE(fs::exists(dir / busy_dir));
    // No directory at all: nothing to do.
    CHECK(device_lock::sweep_namespace_directories((dir / "missing").string()) == 0);
}

TEST_CASE("device lock: a reservation whose namespace directory is removed under it opens it again", "[device_lock]")
{
    // The last holder in a namespace removes its directory when it lets go
    // (and a sweep may take it for a gone namespace's): another process
    // between opening that directory and making its lock file must make
    // the directory again, not fail. Two reserving threads, each with its
    // own names (each release may remove the directory), and a third
    // removing it whenever it is empty.
    LockDir dir;
    const std::string live = (dir / own_namespace_directory()).string();
    constexpr int kRounds = 1000;
    std::atomic<bool> done{false};
    // One removal now and then, as a sweep or another process's release
    // makes (a remover that never pauses could starve a reservation).
    std::thread remover([&] {
        while (!done.load()) {
            ::rmdir(live.c_str());
            std::this_thread::sleep_for(std::chrono::microseconds(20));
        }
    });
    auto reserve_often = [&](std::vector<std::string> names, std::string& failure) {
        for (int i = 0; i < kRounds && failure.empty(); ++i) {
            try {
                device_lock::Busy busy;
                auto r = device_lock::reserve(names, "test", busy, dir.str());
                if (!r) failure = "refused as busy: " + busy.name + ", " + busy.holder;
                // While held, the directory cannot go.
                else if (::rmdir(live.c_str()) == 0 || errno != ENOTEMPTY)
                    failure = "a directory with held locks went";
            } catch (const std::exception& e) {
                failure = e.what();
            }
        }
    };
    std::string failure1, failure2;
    std::thread second(reserve_often, std::vector<std::string>{"feth2", "feth5002"}, std::ref(failure2));
    reserve_often({"feth1", "feth5001"}, failure1);
    second.join();
    done = true;
    remover.join();
    CHECK(failure1 == std::string());
    CHECK(failure2 == std::string());
}

#endif
