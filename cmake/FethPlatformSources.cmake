# feth_platform_sources(<target> [LINUX <source>...] [APPLE <source>...])
#
# Adds the sources of the platform being built to <target> and records both
# lists (absolute paths) on it, in the target properties FETH_LINUX_SOURCES
# and FETH_APPLE_SOURCES. The Darwin compile check (tests/darwin) reads them
# to list what a macOS build compiles while the build runs on Linux: every
# target's sources, the Linux-only ones swapped for the Apple-only ones. So
# a platform-only source must be added through this function, never with a
# bare if(APPLE) target_sources(...), or the check would not see it; and a
# target that only macOS builds would be invisible to it too: define the
# target everywhere and give it its platform sources here.
function(feth_platform_sources target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "LINUX;APPLE")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "feth_platform_sources: unexpected arguments ${arg_UNPARSED_ARGUMENTS}")
  endif()
  foreach(platform LINUX APPLE)
    set(abs "")
    foreach(src IN LISTS arg_${platform})
      cmake_path(ABSOLUTE_PATH src BASE_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}" NORMALIZE OUTPUT_VARIABLE p)
      list(APPEND abs "${p}")
    endforeach()
    set_property(TARGET ${target} APPEND PROPERTY FETH_${platform}_SOURCES ${abs})
    set(${platform}_abs "${abs}")
  endforeach()
  if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
    target_sources(${target} PRIVATE ${LINUX_abs})
  elseif(APPLE)
    target_sources(${target} PRIVATE ${APPLE_abs})
  endif()
endfunction()
