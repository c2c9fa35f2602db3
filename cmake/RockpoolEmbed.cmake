# rockpool_embed(TARGET DIR HEADER NAMESPACE COMMENT FILES...): a static
# library holding FILES verbatim (cmake/embed_files.cmake writes the source),
# with DIR/include public; rebuilt when a file changes.
function(rockpool_embed target dir header namespace comment)
  set(files ${ARGN})
  list(SORT files)
  string(REPLACE ";" "|" file_list "${files}")
  set(generated ${CMAKE_CURRENT_BINARY_DIR}/${target}_embedded.cpp)
  add_custom_command(
    OUTPUT ${generated}
    COMMAND ${CMAKE_COMMAND} -DOUT=${generated} "-DFILES=${file_list}" -DBASE=${dir}
            -DHEADER=${header} -DNAMESPACE=${namespace}
            -P ${PROJECT_SOURCE_DIR}/cmake/embed_files.cmake
    DEPENDS ${files} ${PROJECT_SOURCE_DIR}/cmake/embed_files.cmake
    COMMENT "${comment}"
    VERBATIM)
  add_library(${target} STATIC ${generated})
  target_include_directories(${target} PUBLIC ${dir}/include)
endfunction()
