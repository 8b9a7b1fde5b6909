#include "tunnel/mtu.hpp"

#include "catch.hpp"

using namespace feth::mtu;

TEST_CASE("mtu::parse: default or a number within the platform's range", "[mtu]")
{
    CHECK(parse("default") == 0u);
    CHECK(parse("9000") == 9000u);
    CHECK(parse("09000") == 9000u);
    CHECK(parse("68", kLinux) == 68u);
    CHECK_FALSE(parse("67", kLinux));
    CHECK_FALSE(parse("68", kDarwin)); // xnu's IF_MINMTU is 72
    CHECK(parse("72", kDarwin) == 72u);
    for (Range r : {kLinux, kDarwin}) {
        CHECK(parse("16370", r) == 16370u);
        CHECK_FALSE(parse("16371", r));
    }
    for (const char* bad : {"", "0", "-1", "+1500", " 1500", "1500 ", "1500x", "0x5dc", "1e3", "Default", "none",
                            "99999", "4294968796", "18446744073709551616"})
        CHECK_FALSE(parse(bad));
    CHECK(expected(kLinux) == "default or a number from 68 to 16370");
    CHECK(expected(kDarwin) == "default or a number from 72 to 16370");
}

TEST_CASE("mtu::to_set: what a device found or made gets", "[mtu]")
{
    // An explicit request is set, unless the device already has it.
    CHECK(to_set(9000, 1500, 16370) == 9000u);
    CHECK(to_set(1400, 9000, 16370) == 1400u);
    CHECK_FALSE(to_set(9000, 9000, 16370));
    // No request: left alone, unless frames that large could never cross.
    CHECK_FALSE(to_set(0, 1500, 16370));
    CHECK_FALSE(to_set(0, 16370, 16370));
    CHECK(to_set(0, 65535, 16370) == 16370u);
    CHECK(to_set(0, 65535, 16380) == 16380u);
}

TEST_CASE("mtu::feth_max_mtu_to_raise: raise only when needed, never lower", "[mtu]")
{
    CHECK_FALSE(feth_max_mtu_to_raise(0, 2048));     // default MTU
    CHECK_FALSE(feth_max_mtu_to_raise(1500, 2048));
    CHECK_FALSE(feth_max_mtu_to_raise(2048, 2048));
    CHECK(feth_max_mtu_to_raise(2049, 2048) == 2049u);
    CHECK(feth_max_mtu_to_raise(9000, 2048) == 9000u);
    CHECK_FALSE(feth_max_mtu_to_raise(9000, 16370)); // someone raised it further: keep theirs
    CHECK_FALSE(feth_max_mtu_to_raise(1500, 9000));
    CHECK(feth_max_mtu_to_raise(16370, 9000) == 16370u);
    // An admin who lowered the sysctl below 2048 still gets what was asked.
    CHECK(feth_max_mtu_to_raise(1800, 1500) == 1800u);
}

TEST_CASE("mtu::feth_existing_problem: an existing pair cannot grow past its creation maximum", "[mtu]")
{
    CHECK(feth_existing_problem("feth0", "feth5000", 2048, 2048).empty());
    CHECK(feth_existing_problem("feth0", "feth5000", 1400, 2048).empty());
    const std::string p = feth_existing_problem("feth0", "feth5000", 9000, 2048);
    CHECK(p.rfind("device feth0: MTU 9000 is above 2048, the largest the existing pair feth0/feth5000 takes", 0) == 0);
    CHECK(p.find("ifconfig feth0 destroy; ifconfig feth5000 destroy") != std::string::npos);
    CHECK(p.find("sysctl net.link.fake.max_mtu=9000") != std::string::npos);
}
