// One owner per tunnel device. A tap has it from the kernel (TUNSETIFF on
// an attached tap fails with EBUSY, and OpenSSH relies on that); a veth or
// feth pair does not: anyone may bind another socket or bpf to it. So the
// pair backends reserve the interface names of a unit before they open it,
// for the device's whole life, across every connection and process: an
// exclusive flock(2) on one file per name in a root-owned run directory.
// The kernel drops the lock when its holder dies, however it dies, so a
// crash never leaves a unit reserved; the file says who holds it (pid and
// the opener's words) so that a refusal can name the holder.
//
// Interface names are per network namespace on Linux: the files live in a
// subdirectory named after the namespace (its /proc/self/ns/net inode),
// so that a namespace's feth0 never blocks another's.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/fd.hpp"
#include "tunnel/feth_naming.hpp"

namespace feth::device_lock {

// /run/feth-ssh on Linux, /var/run/feth-ssh on macOS: made 0755 by root
// when missing; refused unless a directory owned by root (or by this
// process's user) and writable by its owner only.
const char* default_directory();

// A held name: the lock file is removed and the lock released when it goes,
// and then (Linux) its namespace's directory if nothing else is in it.
class NameLock {
public:
    NameLock(UniqueFd dir, UniqueFd file, std::string name);
    NameLock(NameLock&&) noexcept = default;
    NameLock& operator=(NameLock&&) = delete;
    NameLock(const NameLock&) = delete;
    ~NameLock();
    const std::string& name() const { return name_; }
    // The directory `dir` (named `directory` in `parent`) goes after the
    // file when it is empty.
    void remove_directory_after(UniqueFd parent, std::string directory);

private:
    UniqueFd dir_;
    UniqueFd file_;
    std::string name_;
    UniqueFd parent_;
    std::string directory_;
};

// Every name of one device, all held or none.
struct Reservation {
    std::vector<NameLock> locks;
};

// Who holds a name another process reserved.
struct Busy {
    std::string name;
    std::string holder; // "pid 1234 (alice from 198.18.0.2 port 51000)", or "a process that is starting"
};

// Reserves `names` in order for this process; `owner` (printable text, as
// "alice from 198.18.0.2 port 51000") goes into each file after the pid.
// nullopt with `busy` filled when another live process holds one of them
// (what was taken is released again). Throws SystemError when the
// directory or a lock file cannot be made (the name and the call in it).
std::optional<Reservation> reserve(std::span<const std::string> names, const std::string& owner, Busy& busy,
                                   const std::string& directory = default_directory());

// Both names of a pair unit (its visible end and its I/O peer), together.
std::optional<Reservation> reserve_pair(const naming::PairNames& names, const std::string& owner, Busy& busy);

// Linux: removes the subdirectories of `directory` whose network namespace
// is gone, with the lock files in them that nobody holds (a holder that was
// killed leaves its file, and its directory, which the last holder to let
// go removes otherwise). A held lock keeps its directory (rmdir of a
// non-empty directory fails), and reserve() opens its namespace's directory
// again when it was removed after reserve() opened it, so neither a sweep
// nor a release takes a lock away. feth-sshd and feth-ssh's
// root part run it at start (sweep_leftover_devices). Returns how many
// directories went; never throws (logs). macOS has one directory: 0.
std::size_t sweep_namespace_directories(const std::string& directory = default_directory()) noexcept;

// The refusal a backend throws for `busy` (SystemError, EBUSY): "device
// feth7: in use by another tunnel, pid 1234 (...)".
[[noreturn]] void throw_busy(const Busy& busy);

} // namespace feth::device_lock
