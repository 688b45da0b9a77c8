# Install rules and an exported package: find_package(rebound) then
# target_link_libraries(app rebound::retry) from an install prefix.
include(CMakePackageConfigHelpers)

install(DIRECTORY include/rebound DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        PATTERN "testing" EXCLUDE)
install(EXPORT reboundTargets NAMESPACE rebound:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/rebound)
configure_package_config_file(cmake/reboundConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/reboundConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/rebound)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/reboundConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/reboundConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/reboundConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/rebound)
