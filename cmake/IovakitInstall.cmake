# Installs libiovakit, its headers under include/iovakit/, a CMake package
# (find_package(iovakit) -> iovakit::iovakit) and a pkg-config file (iovakit.pc).
include(CMakePackageConfigHelpers)

install(TARGETS iovakit EXPORT iovakitTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  FILE_SET HEADERS DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(IOVAKIT_BUILD_CLI)
  install(TARGETS iovakit_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

set(IOVAKIT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/iovakit)
install(EXPORT iovakitTargets NAMESPACE iovakit:: DESTINATION ${IOVAKIT_CMAKE_DIR})
configure_package_config_file(cmake/iovakitConfig.cmake.in
  ${PROJECT_BINARY_DIR}/iovakitConfig.cmake INSTALL_DESTINATION ${IOVAKIT_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/iovakitConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/iovakitConfig.cmake ${PROJECT_BINARY_DIR}/iovakitConfigVersion.cmake
  DESTINATION ${IOVAKIT_CMAKE_DIR})

# The .pc file finds its prefix relative to itself, so an installed tree can be
# moved (or installed with `cmake --install --prefix`).
file(RELATIVE_PATH IOVAKIT_PC_TO_PREFIX "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
if(IOVAKIT_WITH_LIBPCI)
  set(IOVAKIT_PC_LIBPCI libpci)
endif()
configure_file(cmake/iovakit.pc.in ${PROJECT_BINARY_DIR}/iovakit.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/iovakit.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
