# The kinds' own rpctl commands (reconcilers/KIND/cli.cpp, picked up as they
# are, and the table reconcilers/commands.cpp): linked by rpctl only, so they
# depend on the CLI's framework (rockpool_cli, in cli/) and the specs, not on
# the reconcilers. Included by actors/CMakeLists.txt.
file(GLOB kind_command_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/reconcilers/*/cli.cpp)
add_library(rockpool_kind_cli STATIC
  ${CMAKE_CURRENT_LIST_DIR}/reconcilers/commands.cpp ${kind_command_sources})
target_include_directories(rockpool_kind_cli PUBLIC ${CMAKE_CURRENT_LIST_DIR}/include)
target_link_libraries(rockpool_kind_cli PUBLIC rockpool_cli rockpool_specs
                      PRIVATE rockpool_crd_types)
