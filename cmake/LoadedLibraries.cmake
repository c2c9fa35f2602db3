# Libraries opened when first used (dlopen, runtime/src/loaded_library.hpp)
# rather than at every start: libcurl and libgit2. For each, the SONAME the
# build linked against (what the code opens, so the header it was compiled
# with matches) and the Debian package that ships it (a dependency of the
# .deb: dpkg-shlibdeps sees only what is linked).
#   rockpool_loaded_library(PREFIX FILE) sets PREFIX_SONAME and PREFIX_PACKAGE.
function(rockpool_loaded_library prefix file)
  get_filename_component(real "${file}" REALPATH)
  execute_process(COMMAND ${CMAKE_READELF} -d "${real}" OUTPUT_VARIABLE dynamic
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0 OR NOT dynamic MATCHES "Library soname: \\[([^]]+)\\]")
    message(FATAL_ERROR "cannot read the SONAME of ${file}")
  endif()
  set(soname "${CMAKE_MATCH_1}")
  set(${prefix}_SONAME "${soname}" PARENT_SCOPE)
  get_filename_component(dir "${real}" DIRECTORY)
  execute_process(COMMAND dpkg-query -S "${dir}/${soname}" OUTPUT_VARIABLE owner
                  RESULT_VARIABLE rc ERROR_QUIET)
  if(rc EQUAL 0 AND owner MATCHES "^([^:,]+)")
    set(${prefix}_PACKAGE "${CMAKE_MATCH_1}" PARENT_SCOPE)
  else()
    set(${prefix}_PACKAGE "" PARENT_SCOPE)
  endif()
endfunction()

set(libcurl_file "${CURL_LIBRARY_RELEASE}")
if(NOT libcurl_file)
  list(GET CURL_LIBRARIES 0 libcurl_file)
endif()
rockpool_loaded_library(LIBCURL "${libcurl_file}")
list(GET LIBGIT2_LINK_LIBRARIES 0 libgit2_file)
rockpool_loaded_library(LIBGIT2 "${libgit2_file}")
message(STATUS "Opened when first used: ${LIBCURL_SONAME} (${LIBCURL_PACKAGE}), "
               "${LIBGIT2_SONAME} (${LIBGIT2_PACKAGE})")
