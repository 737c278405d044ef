# lambdad_add_function(<target> SOURCES src... [LIBRARIES lib...] [OUTPUT_DIRECTORY dir])
#
# Builds <target> as a Lambda custom-runtime executable named `bootstrap` in OUTPUT_DIRECTORY
# (default: the current binary dir, so keep one function per directory or pass a directory),
# linked against lambdad_runtime, stripped and garbage-collected, and fully static when
# LAMBDAD_FUNCTION_STATIC is ON (the default): glibc's static libc is safe for the SDK, which
# resolves no names for numeric Runtime API addresses. With it OFF only libstdc++ and libgcc are
# static. Building <target> also writes <target>.zip beside `bootstrap`, with `bootstrap` (mode
# 0755) at the root; the <target>_zip target (part of ALL) rebuilds it if it goes missing.
option(LAMBDAD_FUNCTION_STATIC "Link lambdad functions with -static" ON)

function(lambdad_add_function target)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "OUTPUT_DIRECTORY" "SOURCES;LIBRARIES")
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "lambdad_add_function(${target}): SOURCES is required")
  endif()
  if(NOT ARG_OUTPUT_DIRECTORY)
    set(ARG_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  endif()

  add_executable(${target} ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE lambdad_runtime ${ARG_LIBRARIES})
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME bootstrap
    RUNTIME_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIRECTORY}
    POSITION_INDEPENDENT_CODE OFF)
  # -fno-sanitize=all: a function is never sanitized, even in a sanitizer build of lambdad
  # (a static link has no sanitizer runtime; functions run as untrusted sandboxed bootstraps).
  target_compile_options(${target} PRIVATE -fno-pie -ffunction-sections -fdata-sections
    -fno-sanitize=all)
  target_link_options(${target} PRIVATE -no-pie -Wl,--gc-sections -s
    -static-libstdc++ -static-libgcc -fno-sanitize=all)
  if(LAMBDAD_FUNCTION_STATIC)
    target_link_options(${target} PRIVATE -static)
  endif()

  set(zip ${ARG_OUTPUT_DIRECTORY}/${target}.zip)
  # A fixed mtime keeps the zip, and so its CodeSha256, reproducible.
  set(zip_cmd ${CMAKE_COMMAND} -E chdir ${ARG_OUTPUT_DIRECTORY}
    ${CMAKE_COMMAND} -E tar cf ${zip} --format=zip "--mtime=1980-01-02 00:00:00 UTC" bootstrap)
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND ${CMAKE_COMMAND} -E chdir ${ARG_OUTPUT_DIRECTORY} chmod 0755 bootstrap
    COMMAND ${zip_cmd}
    VERBATIM)
  add_custom_command(OUTPUT ${zip}
    COMMAND ${zip_cmd}
    DEPENDS ${target}
    VERBATIM)
  add_custom_target(${target}_zip ALL DEPENDS ${zip})
endfunction()
