// Only live accounts log in: OpenSSH's allowed_user() checks without PAM
// (auth.c, platform.c platform_locked_account, auth-shadow.c), in its
// order and with its log lines, before any key is looked at.
//  - Linux: an expired account (shadow sp_expire before today: "Account X
//    has expired"), a locked password (the shadow, or passwd, field starts
//    with "!", configure.ac's LOCKED_PASSWD_PREFIX for Linux): "User X not
//    allowed because account is locked".
//  - macOS: portable sshd defines no locked-password rule and has no
//    shadow file there (getpwnam's password field is a placeholder; Apple's
//    own sshd asks PAM and Open Directory instead), so only the shell is
//    checked, as portable sshd without PAM does.
//  - Everywhere: the login shell ("" means /bin/sh) must exist ("User X not
//    allowed because shell S does not exist") and be a regular file with an
//    execute bit ("... is not executable").
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

namespace feth::server {

// What the password database says of an account, for the checks below.
struct AccountRecord {
    std::string name;
    std::string password; // the shadow field where there is one, else passwd's
    std::string shell;
    // Days since 1970 after which the account is expired; -1: never.
    std::int64_t expire_day = -1;
};

// True when the password field denotes a locked account on this platform.
bool password_locked(std::string_view password);

// True when `expire_day` lies before the day of `now` (auth_shadow_acctexpired).
bool account_expired(std::int64_t expire_day, std::time_t now);

// The reason, in sshd's words without the leading "User X not allowed
// because ", why the account may not log in (a missing or non-executable
// shell, a locked or expired account); empty when it may. Logs sshd's
// "Account X has expired" line itself.
std::string account_refusal(const AccountRecord& account, std::time_t now);

// Reads `name`'s record (passwd, and on Linux shadow) and checks it, logging
// "User X not allowed because ..." when refused. False: not live.
bool account_is_live(const std::string& name);

} // namespace feth::server
