// server/live_account: sshd's allowed_user() checks without PAM.
#include <string>

#include "catch.hpp"
#include "server/live_account.hpp"

using feth::server::AccountRecord;
using feth::server::account_refusal;

TEST_CASE("live account: locked, expired and shell-less accounts are refused as sshd does", "[auth]")
{
    const std::time_t now = 20000 * 86400 + 3600; // day 20000
    AccountRecord a;
    a.name = "alice";
    a.password = "*";
    a.shell = "/bin/sh";
    CHECK(account_refusal(a, now).empty());
    a.shell = ""; // empty: /bin/sh
    CHECK(account_refusal(a, now).empty());

    a.expire_day = 19999; // yesterday
    CHECK(account_refusal(a, now) == "account is locked");
    a.expire_day = 20000; // today is still allowed (days left 0)
    CHECK(account_refusal(a, now).empty());
    a.expire_day = 0;
    CHECK(account_refusal(a, now) == "account is locked");
    a.expire_day = -1;

#if defined(__linux__)
    a.password = "!";
    CHECK(account_refusal(a, now) == "account is locked");
    a.password = "!$6$salt$hash"; // usermod -L
    CHECK(account_refusal(a, now) == "account is locked");
#endif
    a.password = "*"; // no password, not locked: keys only
    CHECK(account_refusal(a, now).empty());
    a.password = "";
    CHECK(account_refusal(a, now).empty());

    a.shell = "/nonexistent/shell";
    CHECK(account_refusal(a, now) == "shell /nonexistent/shell does not exist");
    a.shell = "/etc/passwd"; // exists, no execute bit
    CHECK(account_refusal(a, now) == "shell /etc/passwd is not executable");
    a.shell = "/"; // not a regular file
    CHECK(account_refusal(a, now) == "shell / is not executable");
}
