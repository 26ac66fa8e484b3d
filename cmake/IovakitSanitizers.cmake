# IOVAKIT_SANITIZE=address,undefined instruments every target. UBSan is made
# fatal so that ctest fails on the first report instead of printing and going on.
if(IOVAKIT_SANITIZE)
  add_compile_options(-fsanitize=${IOVAKIT_SANITIZE} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${IOVAKIT_SANITIZE})
  if(IOVAKIT_SANITIZE MATCHES "undefined")
    add_compile_options(-fno-sanitize-recover=undefined)
  endif()
endif()
