# The API server library: HTTP transport, routing and the verb handlers.
# Included by controller/CMakeLists.txt and, alone, by the fuzz build.
set(ROCKPOOL_CONTROLLER_DIR ${CMAKE_CURRENT_LIST_DIR})
# /version's build facts, regenerated at every build (cmake/BuildInfo.cmake).
set(ROCKPOOL_BUILD_INFO ${CMAKE_BINARY_DIR}/generated/build_info.cpp)
add_custom_target(rockpool_build_info_gen
  BYPRODUCTS ${ROCKPOOL_BUILD_INFO}
  COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${PROJECT_SOURCE_DIR} -DOUTPUT=${ROCKPOOL_BUILD_INFO}
          "-DCOMPILER=${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION}"
          -P ${PROJECT_SOURCE_DIR}/cmake/BuildInfo.cmake
  VERBATIM)
add_library(rockpool_api STATIC
  ${ROCKPOOL_CONTROLLER_DIR}/src/metrics.cpp ${ROCKPOOL_CONTROLLER_DIR}/src/http/server.cpp
  ${ROCKPOOL_CONTROLLER_DIR}/src/http/connection.cpp
  ${ROCKPOOL_CONTROLLER_DIR}/src/api/request.cpp ${ROCKPOOL_CONTROLLER_DIR}/src/api/params.cpp
  ${ROCKPOOL_CONTROLLER_DIR}/src/api/router.cpp
  ${ROCKPOOL_CONTROLLER_DIR}/src/api/probes.cpp ${ROCKPOOL_CONTROLLER_DIR}/src/api/subresource.cpp
  ${ROCKPOOL_CONTROLLER_DIR}/src/gateway/workspace_signin.cpp ${ROCKPOOL_CONTROLLER_DIR}/src/gateway/workspace_gateway.cpp ${ROCKPOOL_CONTROLLER_DIR}/src/api/table.cpp ${ROCKPOOL_CONTROLLER_DIR}/src/api/core_events.cpp ${ROCKPOOL_CONTROLLER_DIR}/src/api/discovery.cpp
  ${ROCKPOOL_CONTROLLER_DIR}/src/api/ui.cpp
  ${ROCKPOOL_CONTROLLER_DIR}/src/api/get.cpp ${ROCKPOOL_CONTROLLER_DIR}/src/api/create.cpp
  ${ROCKPOOL_CONTROLLER_DIR}/src/api/update.cpp ${ROCKPOOL_CONTROLLER_DIR}/src/api/patch.cpp
  ${ROCKPOOL_CONTROLLER_DIR}/src/api/delete.cpp ${ROCKPOOL_CONTROLLER_DIR}/src/api/watch.cpp
  ${ROCKPOOL_CONTROLLER_DIR}/src/api/crds.cpp ${ROCKPOOL_CONTROLLER_DIR}/src/api/access_review.cpp
  ${ROCKPOOL_BUILD_INFO})
add_dependencies(rockpool_api rockpool_build_info_gen)
target_include_directories(rockpool_api PUBLIC ${ROCKPOOL_CONTROLLER_DIR}/include
  PRIVATE ${ROCKPOOL_CONTROLLER_DIR}/src)
target_link_libraries(rockpool_api PUBLIC rockpool_store PRIVATE rockpool_backup rockpool_ui spdlog::spdlog Threads::Threads OpenSSL::SSL)
