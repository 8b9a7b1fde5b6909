// config/openssh_syntax: the pieces of OpenSSH's config syntax both configs
// share (the configs' own tests cover them through whole files too).
#include "config/openssh_syntax.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "catch.hpp"
#include "base/error.hpp"

using namespace feth::config;
namespace syntax = feth::config::syntax;

namespace {

// A directory of its own, removed with what the test wrote into it.
struct TempDir {
    std::string path;
    TempDir()
    {
        char tmpl[] = "/tmp/feth-syntax-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir()
    {
        for (const char* name : {"/at", "/over", "/empty", "/sub"}) {
            ::unlink((path + name).c_str());
            ::rmdir((path + name).c_str());
        }
        ::rmdir(path.c_str());
    }
    std::string write(const char* name, std::size_t size) const
    {
        std::string file = path + name;
        std::ofstream(file) << std::string(size, 'x');
        return file;
    }
};

int errno_of(const std::function<void()>& f)
{
    try {
        f();
    } catch (const feth::SystemError& e) {
        return e.code();
    }
    return 0;
}

} // namespace

TEST_CASE("iequals: ASCII case only, lengths must agree", "[openssh_syntax]")
{
    CHECK(syntax::iequals("PermitTunnel", "permittunnel"));
    CHECK(syntax::iequals("", ""));
    CHECK_FALSE(syntax::iequals("yes", "yes "));
    CHECK_FALSE(syntax::iequals("a", "b"));
    CHECK_FALSE(syntax::iequals("\xc3\x89", "\xc3\xa9")); // É / é: not ASCII, not folded
}

TEST_CASE("read_bounded_file reads one byte past the limit, never more", "[openssh_syntax]")
{
    TempDir dir;
    CHECK(syntax::read_bounded_file(dir.write("/at", syntax::kMaxFileSize), "ctx").size() == syntax::kMaxFileSize);
    CHECK(syntax::read_bounded_file(dir.write("/over", syntax::kMaxFileSize * 3), "ctx").size() ==
          syntax::kMaxFileSize + 1);
    CHECK(syntax::read_bounded_file(dir.write("/empty", 0), "ctx").empty());
    REQUIRE(::mkdir((dir.path + "/sub").c_str(), 0700) == 0);
    CHECK(errno_of([&] { syntax::read_bounded_file(dir.path + "/sub", "ctx"); }) == EISDIR);
    CHECK(errno_of([&] { syntax::read_bounded_file(dir.path + "/missing", "ctx"); }) == ENOENT);
    try {
        syntax::read_bounded_file(dir.path + "/missing", "cannot read config file x");
        FAIL("no exception");
    } catch (const feth::SystemError& e) {
        CHECK(std::string(e.what()).find("cannot read config file x") != std::string::npos);
    }
}

TEST_CASE("read_bounded_file's rules for ssh: missing, directory, owner and mode, FIFO", "[openssh_syntax]")
{
    TempDir dir;
    syntax::ReadRules ssh;
    ssh.missing_is_empty = true;
    ssh.directory_is_empty = true;
    ssh.check_owner = true;
    ssh.nonblocking = true;

    auto f = syntax::read_bounded_file(dir.path + "/missing", "ctx", ssh);
    CHECK(f.missing);
    CHECK(f.text.empty());
    CHECK(syntax::read_bounded_file(dir.path + "/missing/x", "ctx", ssh).missing); // ENOTDIR
    REQUIRE(::mkdir((dir.path + "/sub").c_str(), 0700) == 0);
    f = syntax::read_bounded_file(dir.path + "/sub", "ctx", ssh);
    CHECK_FALSE(f.missing);
    CHECK(f.text.empty());

    const std::string at = dir.write("/at", 10);
    REQUIRE(::chmod(at.c_str(), 0600) == 0);
    CHECK(syntax::read_bounded_file(at, "ctx", ssh).text == std::string(10, 'x'));
    REQUIRE(::chmod(at.c_str(), 0620) == 0); // group-writable
    CHECK_THROWS_WITH(syntax::read_bounded_file(at, "ctx", ssh), "Bad owner or permissions on " + at);
    syntax::ReadRules no_check = ssh;
    no_check.check_owner = false;
    CHECK(syntax::read_bounded_file(at, "ctx", no_check).text.size() == 10);

    // A FIFO without a writer: no hang, it reads as empty.
    const std::string fifo = dir.path + "/over";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(syntax::read_bounded_file(fifo, "ctx", ssh).text.empty());
}

TEST_CASE("take_keyword: strdelim's keyword, one '=' and blanks after it", "[openssh_syntax]")
{
    auto p = syntax::take_keyword("  Port = 22  \r");
    CHECK(p.keyword == "Port");
    CHECK(p.rest == "22");
    CHECK_FALSE(p.bare_equals);
    p = syntax::take_keyword("Port==22");
    CHECK(p.keyword == "Port");
    CHECK(p.rest == "=22"); // only one '=' belongs to the keyword
    p = syntax::take_keyword("=22");
    CHECK(p.bare_equals);
    CHECK(syntax::take_keyword("   # comment").keyword.empty());
    CHECK(syntax::take_keyword(" \t\f").keyword.empty());
}

TEST_CASE("split_words: argv_split's quotes, escapes and comments", "[openssh_syntax]")
{
    std::vector<std::string> w;
    REQUIRE(syntax::split_words(R"(a "b c" 'd e' f\ g "h\"i" j#k #rest)", w));
    CHECK(w == std::vector<std::string>{"a", "b c", "d e", "f g", "h\"i", "j#k"});
    w.clear();
    CHECK_FALSE(syntax::split_words("a \"b", w));
    w.clear();
    REQUIRE(syntax::split_words("", w));
    CHECK(w.empty());
}

TEST_CASE("split_arguments, time and size values keep their config names", "[openssh_syntax]")
{
    CHECK(split_arguments("Match User alice") == std::vector<std::string>{"Match", "User", "alice"});
    CHECK(split_arguments("# nothing").empty());
    CHECK_THROWS_AS(split_arguments("=x"), feth::InputError);
    CHECK(parse_time_interval("1h30m") == 5400u);
    CHECK(parse_time_interval("90") == 90u);
    CHECK_FALSE(parse_time_interval("1x"));
    CHECK_FALSE(parse_time_interval("m"));
    CHECK(parse_byte_size("4K") == 4096u);
    CHECK(parse_byte_size("1g") == (std::uint64_t{1} << 30));
    CHECK_FALSE(parse_byte_size("K"));
    CHECK_FALSE(parse_byte_size("99999999999T"));
}
