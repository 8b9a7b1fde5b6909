// One include for Catch2 v3 (Homebrew, newer distributions) and v2.13
// (Debian 12). The test sources use only what both versions offer.
#pragma once

#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>
#endif
