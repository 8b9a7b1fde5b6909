#include "run_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <vector>

#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/log.hpp"

namespace feth::client {
namespace {

// A directory the SSH part owned may hold anything it made there: removed
// through descriptors that never follow a link, to a bounded depth and
// count, so that no entry can lead outside it or keep the remover busy.
constexpr int kMaxDepth = 16;
constexpr std::size_t kMaxEntries = 100000;

// Removes `name` in `parent` and, for a directory, what is in it. False
// when something stayed.
bool remove_tree(int parent, const std::string& name, int depth, std::size_t& budget)
{
    if (budget == 0) return false;
    --budget;
    if (::unlinkat(parent, name.c_str(), 0) == 0 || errno == ENOENT) return true;
    // A directory: unlink says EISDIR (Linux) or EPERM (macOS).
    if ((errno != EISDIR && errno != EPERM) || depth >= kMaxDepth) return false;
    UniqueFd dir(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir) return false;
    bool all = true;
    for (const auto& entry : directory_entries(dir.get(), kMaxEntries))
        all = remove_tree(dir.get(), entry, depth + 1, budget) && all;
    return all && ::unlinkat(parent, name.c_str(), AT_REMOVEDIR) == 0;
}

// Run directories are "<pid>.XXXXXX"; the pid, or 0 for any other name.
pid_t pid_of(const std::string& name)
{
    const auto dot = name.find('.');
    if (dot == 0 || dot == std::string::npos || dot > 10 || name.size() != dot + 7) return 0;
    long long pid = 0;
    for (std::size_t i = 0; i < dot; ++i) {
        if (name[i] < '0' || name[i] > '9') return 0;
        pid = pid * 10 + (name[i] - '0');
    }
    return pid > 0 && pid <= 0x7fffffff ? static_cast<pid_t>(pid) : 0;
}

bool runs(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

// The base directory, made when missing: anyone who could write in it
// could plant or remove a run's directory.
UniqueFd open_base(const std::string& base)
{
    if (::mkdir(base.c_str(), 0755) != 0 && errno != EEXIST) throw_errno("run directory " + base, "mkdir");
    UniqueFd dir(::open(base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir) throw_errno("run directory " + base, "open");
    struct stat st {};
    if (::fstat(dir.get(), &st) != 0) throw_errno("run directory " + base, "fstat");
    if (st.st_uid != ::geteuid() || (st.st_mode & 022) != 0)
        throw SystemError("run directory " + base + " is owned by uid " + std::to_string(st.st_uid) +
                              " or writable by others than its owner",
                          "fstat", EPERM);
    return dir;
}

// Takes a run's directory back from the SSH part's user before removing
// it: none of that user's processes can add to it any more.
bool remove_run_dir(int base, const std::string& name)
{
    UniqueFd dir(::openat(base, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (dir && (::fchown(dir.get(), 0, 0) != 0 || ::fchmod(dir.get(), 0700) != 0)) return false;
    std::size_t budget = kMaxEntries;
    return remove_tree(base, name, 0, budget);
}

} // namespace

const char* run_dir_base()
{
#if defined(__APPLE__)
    return "/var/run/feth-ssh-client";
#else
    return "/run/feth-ssh-client";
#endif
}

std::size_t sweep_run_dirs(const std::string& base) noexcept
{
    std::size_t removed = 0;
    try {
        UniqueFd dir(::open(base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!dir) return 0; // no run yet
        for (const auto& name : directory_entries(dir.get(), kMaxEntries)) {
            const pid_t pid = pid_of(name);
            if (pid == 0 || runs(pid)) continue;
            if (remove_run_dir(dir.get(), name)) {
                ++removed;
                LOG_VERBOSE("removed %s/%s: the feth-ssh that made it (pid %ld) is gone", base.c_str(), name.c_str(),
                            static_cast<long>(pid));
            } else {
                LOG_ERROR("removing %s/%s, left by feth-ssh pid %ld: %s", base.c_str(), name.c_str(),
                          static_cast<long>(pid), errno_text(errno).c_str());
            }
        }
    } catch (const std::exception& e) {
        LOG_ERROR("removing run directories left in %s: %s", base.c_str(), e.what());
    }
    return removed;
}

RunDir::RunDir(uid_t owner, gid_t group, const std::string& base) : base_(base), maker_(::getpid())
{
    sweep_run_dirs(base_);
    UniqueFd top = open_base(base_);
    std::string path = base_ + "/" + std::to_string(::getpid()) + ".XXXXXX";
    if (::mkdtemp(path.data()) == nullptr) throw_errno("run directory in " + base_, "mkdtemp");
    path_ = path;
    name_ = path_.substr(base_.size() + 1);
    UniqueFd dir(::openat(top.get(), name_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir || ::fchmod(dir.get(), 0700) != 0 || ::fchown(dir.get(), owner, group) != 0) {
        const int err = errno;
        ::rmdir(path_.c_str());
        throw SystemError("run directory " + path_, dir ? "fchown" : "open", err);
    }
}

RunDir::~RunDir()
{
    if (::getpid() != maker_) return;
    try {
        UniqueFd top(::open(base_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!top || !remove_run_dir(top.get(), name_))
            LOG_ERROR("removing the run directory %s: %s", path_.c_str(), errno_text(errno).c_str());
    } catch (...) {
    }
}

} // namespace feth::client
