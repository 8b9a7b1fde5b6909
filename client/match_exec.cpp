#include "match_exec.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "base/error.hpp"
#include "base/log.hpp"

extern char** environ;

namespace feth::client {
namespace {

// ssh: $SHELL when set, else _PATH_BSHELL.
std::string user_shell()
{
    const char* shell = ::getenv("SHELL");
    return shell != nullptr && *shell != '\0' ? shell : "/bin/sh";
}

// posix_spawn's file actions, freed on every path.
class FileActions {
public:
    FileActions() { ok_ = ::posix_spawn_file_actions_init(&a_) == 0; }
    ~FileActions()
    {
        if (ok_) ::posix_spawn_file_actions_destroy(&a_);
    }
    FileActions(const FileActions&) = delete;
    FileActions& operator=(const FileActions&) = delete;
    bool ok() const { return ok_; }
    posix_spawn_file_actions_t* get() { return &a_; }

private:
    posix_spawn_file_actions_t a_{};
    bool ok_ = false;
};

} // namespace

int run_match_exec(const std::string& command)
{
    const std::string shell = user_shell();
    if (::access(shell.c_str(), X_OK) != 0) {
        LOG_ERROR("Match exec: shell \"%s\" is not executable: %s", shell.c_str(), errno_text(errno).c_str());
        return -1;
    }
    LOG_DEBUG("Executing command: '%.500s'", command.c_str());
    FileActions fa;
    if (!fa.ok() || ::posix_spawn_file_actions_addopen(fa.get(), STDIN_FILENO, "/dev/null", O_RDONLY, 0) != 0 ||
        ::posix_spawn_file_actions_addopen(fa.get(), STDOUT_FILENO, "/dev/null", O_WRONLY, 0) != 0) {
        LOG_ERROR("Match exec: posix_spawn_file_actions failed");
        return -1;
    }
    std::string sh = shell;
    std::string dash_c = "-c";
    std::string cmd = command;
    char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};
    pid_t pid = -1;
    if (int err = ::posix_spawn(&pid, shell.c_str(), fa.get(), nullptr, argv, environ); err != 0) {
        LOG_ERROR("Match exec: unable to execute '%.100s': %s", command.c_str(), errno_text(err).c_str());
        return -1;
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            LOG_ERROR("Match exec: waitpid: %s", errno_text(errno).c_str());
            return -1;
        }
    }
    if (!WIFEXITED(status)) {
        LOG_ERROR("command '%.100s' exited abnormally", command.c_str());
        return -1;
    }
    LOG_DEBUG2("command returned status %d", WEXITSTATUS(status));
    return WEXITSTATUS(status);
}

} // namespace feth::client
