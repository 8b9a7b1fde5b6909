#include "live_account.hpp"

#include <pwd.h>
#include <sys/stat.h>
#if defined(__linux__)
#include <shadow.h>
#endif

#include <array>
#include <cstring>

#include "base/log.hpp"
#include "config/printable.hpp"

namespace feth::server {
namespace {

constexpr std::int64_t kSecondsPerDay = 24 * 60 * 60;

// configure.ac: LOCKED_PASSWD_PREFIX "!" for Linux; nothing for macOS.
#if defined(__linux__)
constexpr std::string_view kLockedPrefix = "!";
#else
constexpr std::string_view kLockedPrefix = {};
#endif

// The shadow entry's password and expiry (Linux); leaves `a` alone where
// there is none (macOS, or an account without a shadow line).
void read_shadow(AccountRecord& a)
{
#if defined(__linux__)
    struct spwd sp {};
    struct spwd* result = nullptr;
    std::array<char, 16384> buf{};
    if (::getspnam_r(a.name.c_str(), &sp, buf.data(), buf.size(), &result) != 0 || result == nullptr) return;
    if (sp.sp_pwdp != nullptr) a.password = sp.sp_pwdp;
    a.expire_day = sp.sp_expire;
#else
    (void)a;
#endif
}

} // namespace

bool password_locked(std::string_view password)
{
    return !kLockedPrefix.empty() && password.substr(0, kLockedPrefix.size()) == kLockedPrefix;
}

bool account_expired(std::int64_t expire_day, std::time_t now)
{
    return expire_day != -1 && expire_day - static_cast<std::int64_t>(now) / kSecondsPerDay < 0;
}

std::string account_refusal(const AccountRecord& a, std::time_t now)
{
    // platform_locked_account: expiry first (logged on its own), then the
    // password field.
    if (account_expired(a.expire_day, now)) {
        LOG_AUTH("Account %s has expired", config::printable(a.name, 100).c_str());
        return "account is locked";
    }
    if (password_locked(a.password)) return "account is locked";
    const std::string shell = a.shell.empty() ? "/bin/sh" : a.shell;
    struct stat st {};
    if (::stat(shell.c_str(), &st) != 0) return "shell " + config::printable(shell, 100) + " does not exist";
    if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0)
        return "shell " + config::printable(shell, 100) + " is not executable";
    return {};
}

bool account_is_live(const std::string& name)
{
    struct passwd pw {};
    struct passwd* result = nullptr;
    std::array<char, 16384> buf{};
    if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &result) != 0 || result == nullptr) return false;
    AccountRecord a;
    a.name = pw.pw_name;
    a.password = pw.pw_passwd != nullptr ? pw.pw_passwd : "";
    a.shell = pw.pw_shell != nullptr ? pw.pw_shell : "";
    read_shadow(a);
    const std::string why = account_refusal(a, std::time(nullptr));
    if (why.empty()) return true;
    LOG_AUTH("User %s not allowed because %s", config::printable(a.name, 100).c_str(), why.c_str());
    return false;
}

} // namespace feth::server
