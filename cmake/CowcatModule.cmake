# cowcat_module(NAME SOURCES <files...> [DEPS <modules or targets...>])
#
# Declares module NAME as the STATIC library cowcat_<NAME>, built from NAME/src,
# with NAME/include as its only public include directory. DEPS are linked PUBLIC
# so their headers are visible to NAME and to its users; nothing else is. Adding
# a module is one line in the module's CMakeLists.txt.
function(cowcat_module NAME)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(cowcat_${NAME} STATIC ${M_SOURCES})
  target_include_directories(cowcat_${NAME}
    PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_compile_options(cowcat_${NAME} PRIVATE ${COWCAT_WARNINGS})
  set(deps)
  foreach(d IN LISTS M_DEPS)
    if(TARGET cowcat_${d})
      list(APPEND deps cowcat_${d})
    else()
      list(APPEND deps ${d})
    endif()
  endforeach()
  target_link_libraries(cowcat_${NAME} PUBLIC ${deps})
  add_library(cowcat::${NAME} ALIAS cowcat_${NAME})
endfunction()

# Output a test run must never contain. Criterion ignores sanitizer reports
# (LIBS.md), so ctest fails on them instead.
set(COWCAT_FAIL_REGEX
  "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|WARNING: ThreadSanitizer|Synthesis: Tested: 0 ")

# cowcat_test(NAME SOURCES <files...> DEPS <modules...>): a Criterion test binary,
# registered with ctest. Criterion cannot run under TSan (LIBS.md), so Criterion
# tests are skipped in the thread build; plain-main stress programs cover TSan.
function(cowcat_test NAME)
  cmake_parse_arguments(T "" "" "SOURCES;DEPS" ${ARGN})
  if(COWCAT_SANITIZE STREQUAL "thread")
    return()
  endif()
  add_executable(${NAME} ${T_SOURCES})
  target_compile_options(${NAME} PRIVATE ${COWCAT_WARNINGS})
  set(deps)
  foreach(d IN LISTS T_DEPS)
    list(APPEND deps cowcat_${d})
  endforeach()
  target_link_libraries(${NAME} PRIVATE ${deps} PkgConfig::CRITERION)
  add_test(NAME ${NAME} COMMAND ${NAME} --jobs=2)
  set_tests_properties(${NAME} PROPERTIES FAIL_REGULAR_EXPRESSION "${COWCAT_FAIL_REGEX}"
    TIMEOUT 600)
endfunction()

# cowcat_stress(NAME SOURCES <files...> DEPS <modules...> [ARGS <args...>]):
# a plain-main concurrency program, run by ctest in every build (TSan included)
# with the library-internal suppressions only.
function(cowcat_stress NAME)
  cmake_parse_arguments(S "" "" "SOURCES;DEPS;ARGS" ${ARGN})
  add_executable(${NAME} ${S_SOURCES})
  target_compile_options(${NAME} PRIVATE ${COWCAT_WARNINGS})
  set(deps)
  foreach(d IN LISTS S_DEPS)
    list(APPEND deps cowcat_${d})
  endforeach()
  target_link_libraries(${NAME} PRIVATE ${deps} Threads::Threads)
  add_test(NAME ${NAME} COMMAND ${NAME} ${S_ARGS})
  set_tests_properties(${NAME} PROPERTIES
    FAIL_REGULAR_EXPRESSION "${COWCAT_FAIL_REGEX}"
    LABELS stress
    TIMEOUT 600
    ENVIRONMENT "TSAN_OPTIONS=halt_on_error=1 suppressions=${CMAKE_SOURCE_DIR}/tsan.supp")
endfunction()
