// One include for Catch2 v3 (Homebrew, newer distributions) and v2.13
// (Debian 12). The test sources use only what both versions offer, and the
// names below where the two differ. tests/catch2/catch2_v3_test.sh builds
// the unit tests against v3 on every .ci/test run.
#pragma once

#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
// v3 renamed the substring matcher; its Contains matches a range's element
// and is no StringMatcher, so CHECK_THROWS_WITH would not compile with it.
#define FETH_CATCH_CONTAINS(text) Catch::Matchers::ContainsSubstring(text)
// v2 declares Approx at global scope (using Catch::Detail::Approx); v3 only
// as Catch::Approx.
using Catch::Approx;
#else
#include <catch2/catch.hpp>
#define FETH_CATCH_CONTAINS(text) Catch::Matchers::Contains(text)
#endif
