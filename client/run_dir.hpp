// A directory for one run of feth-ssh started as root, for the files the
// SSH part uses that no other user may reach: the agent socket a proxy's
// ssh connects to (root_agent.hpp) and, where there is no memfd (macOS),
// the private copies of root's known_hosts (private_copies.hpp).
//
// The root part makes it before the SSH part starts: <base>/<pid>.XXXXXX,
// owned by the SSH part's user, mode 0700, in a base directory only root
// can write. It goes with the root part; a root part killed by SIGKILL
// leaves it, and the next run removes every directory whose pid is gone.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

namespace feth::client {

// /run/feth-ssh-client on Linux, /var/run/feth-ssh-client on macOS.
const char* run_dir_base();

class RunDir {
public:
    // Removes the directories of runs that are gone, then makes this run's
    // in `base` (made 0755 by root when missing; refused unless root's and
    // writable by root only). Throws SystemError naming the path.
    RunDir(uid_t owner, gid_t group, const std::string& base = run_dir_base());
    RunDir(const RunDir&) = delete;
    RunDir& operator=(const RunDir&) = delete;
    // Removes the directory and whatever the SSH part left in it; only in
    // the process that made it (a forked SSH part never removes it).
    ~RunDir();
    const std::string& path() const { return path_; }

private:
    std::string base_;
    std::string name_;
    std::string path_;
    pid_t maker_;
};

// Removes the run directories in `base` whose pid no longer runs. Returns
// how many went; problems are logged, never thrown.
std::size_t sweep_run_dirs(const std::string& base) noexcept;

} // namespace feth::client
