// Interface hooks: a user's shell command run when a tunnel comes up or goes
// down (feth-ssh's TunnelUpCommand/TunnelDownCommand, and feth-sshd's later),
// the way ssh runs LocalCommand.
//
// Rules every hook run keeps:
//  - the command runs as `/bin/sh -c COMMAND` in a process group of its own,
//    stdin on /dev/null, stdout and stderr on one pipe whose lines are
//    logged (prefixed with the hook's name, control characters replaced);
//  - no descriptor of ours reaches it besides 0, 1 and 2; signal
//    dispositions and the signal mask are reset to the defaults;
//  - it is time-limited: at the deadline its process group gets SIGTERM and,
//    after a short grace, SIGKILL;
//  - it is always reaped: a HookProcess destroyed early stops the group and
//    waits for it, so no zombie is left behind;
//  - nothing here blocks without bound: HookProcess is driven by the
//    owner's event loop (fd() and poll_timeout_ms()), run_hook() waits at
//    most the timeout plus the grace.
// When the command itself exits, its output pipe is drained of what is
// already there and closed: a daemon the hook leaves running must not keep
// the hook "running" (it should redirect its own output).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fd.hpp"

namespace feth {

// The variables a hook gets (name, value), in order.
using HookEnv = std::vector<std::pair<std::string, std::string>>;

struct HookSpec {
    std::string name;    // for log lines: "TunnelUpCommand"
    std::string command; // run with /bin/sh -c
    // Variables set for the command (replacing any of the same name).
    HookEnv env;
    // true: the command also gets our own environment (a client, like ssh's
    // LocalCommand); false: only PATH=/usr/bin:/bin:/usr/sbin:/sbin and
    // `env` (a server, which must not pass its environment on).
    bool inherit_environment = true;
    std::chrono::milliseconds timeout{30000};
    std::chrono::milliseconds kill_grace{1000}; // SIGTERM -> SIGKILL
    std::string shell = "/bin/sh";               // tests may point elsewhere
};

struct HookResult {
    enum class Kind {
        Exited,   // status = exit code
        Signaled, // status = signal number
        TimedOut, // killed at the deadline
    };
    Kind kind = Kind::Exited;
    int status = 0;

    bool ok() const { return kind == Kind::Exited && status == 0; }
    // "exited with status 3", "killed by signal 9", "timed out after 30 s"
    std::string describe(std::chrono::milliseconds timeout) const;
};

// One running hook. Not copyable; the destructor stops and reaps it if it
// is still running.
class HookProcess {
public:
    // Starts the command. Throws SystemError when pipe or fork fails. An
    // exec failure shows up as exit status 127 with a logged line, as a
    // shell reports a missing command.
    explicit HookProcess(HookSpec spec);
    ~HookProcess();
    HookProcess(const HookProcess&) = delete;
    HookProcess& operator=(const HookProcess&) = delete;

    // The output pipe to watch for POLLIN; -1 once it is closed.
    int fd() const { return out_.get(); }
    // How long the owner may sleep before service() must run again (the
    // deadline, the kill grace, or a short interval to notice the exit of a
    // command whose output pipe a background child still holds open).
    int poll_timeout_ms() const;

    // Non-blocking: reads and logs available output, reaps the command if it
    // exited, enforces the deadline. Returns true once the hook is finished.
    bool service();
    bool finished() const { return finished_; }
    const HookResult& result() const { return result_; }
    const HookSpec& spec() const { return spec_; }
    pid_t pid() const { return pid_; }

    // Blocks until finished (bounded by the deadline plus the grace).
    const HookResult& wait();

private:
    using Clock = std::chrono::steady_clock;
    void read_output();
    void emit_line(std::string_view line);
    void reaped(int wstatus);
    void signal_group(int sig);

    HookSpec spec_;
    pid_t pid_ = -1;
    UniqueFd out_;
    Clock::time_point deadline_;
    Clock::time_point kill_at_{};
    bool terminated_ = false; // SIGTERM sent at the deadline
    bool killed_ = false;     // SIGKILL sent
    bool exited_ = false;     // reaped
    bool finished_ = false;
    std::string partial_;            // an incomplete output line
    std::size_t logged_bytes_ = 0;   // output logged so far (capped)
    bool truncated_noted_ = false;
    HookResult result_;
};

// Runs a hook to completion (bounded), logging its output. Returns the
// result; throws SystemError only when the hook could not be started.
HookResult run_hook(const HookSpec& spec);

// In a forked child before execve (async-signal-safe): every signal to
// its default action and none blocked, so that the program run starts as
// from a shell, whatever the parent had set.
void reset_signals_in_child();

} // namespace feth
