# man: mdoc(7) pages of libfcgi.  One page per function family; every other
# name of a family is installed as a one-line ".so" page pointing at it, so
# that "man FCGX_GetStr" opens FCGX_GetChar(3).

dist_man_MANS += \
	man/FCGI_Accept.3 \
	man/FCGI_Finish.3 \
	man/FCGI_SetExitStatus.3 \
	man/FCGI_StartFilterData.3 \
	man/FCGX_Accept_r.3 \
	man/FCGX_GetChar.3 \
	man/FCGX_GetError.3 \
	man/FCGX_GetParam.3 \
	man/FCGX_Init.3 \
	man/FCGX_PutChar.3 \
	man/fcgi_stdio.3 \
	man/fcgio.3 \
	man/fcgios.3 \
	man/libfcgi.3

# Pairs: family page, then an extra name documented on it.
man_links = \
	FCGX_Accept_r.3 FCGX_Accept.3 \
	FCGX_Accept_r.3 FCGX_Attach.3 \
	FCGX_Accept_r.3 FCGX_Detach.3 \
	FCGX_Accept_r.3 FCGX_Finish.3 \
	FCGX_Accept_r.3 FCGX_Finish_r.3 \
	FCGX_Accept_r.3 FCGX_Free.3 \
	FCGX_GetChar.3 FCGX_GetLine.3 \
	FCGX_GetChar.3 FCGX_GetStr.3 \
	FCGX_GetChar.3 FCGX_HasSeenEOF.3 \
	FCGX_GetChar.3 FCGX_StartFilterData.3 \
	FCGX_GetChar.3 FCGX_UnGetChar.3 \
	FCGX_GetError.3 FCGX_ClearError.3 \
	FCGX_GetError.3 FCGX_CreateWriter.3 \
	FCGX_GetError.3 FCGX_FreeStream.3 \
	FCGX_Init.3 FCGX_InitRequest.3 \
	FCGX_Init.3 FCGX_IsCGI.3 \
	FCGX_Init.3 FCGX_OpenSocket.3 \
	FCGX_Init.3 FCGX_ShutdownPending.3 \
	FCGX_PutChar.3 FCGX_FClose.3 \
	FCGX_PutChar.3 FCGX_FFlush.3 \
	FCGX_PutChar.3 FCGX_FPrintF.3 \
	FCGX_PutChar.3 FCGX_PutS.3 \
	FCGX_PutChar.3 FCGX_PutStr.3 \
	FCGX_PutChar.3 FCGX_SetExitStatus.3 \
	FCGX_PutChar.3 FCGX_VFPrintF.3 \
	fcgi_stdio.3 FCGI_clearerr.3 \
	fcgi_stdio.3 FCGI_fclose.3 \
	fcgi_stdio.3 FCGI_fdopen.3 \
	fcgi_stdio.3 FCGI_feof.3 \
	fcgi_stdio.3 FCGI_ferror.3 \
	fcgi_stdio.3 FCGI_fflush.3 \
	fcgi_stdio.3 FCGI_fgetc.3 \
	fcgi_stdio.3 FCGI_fgetpos.3 \
	fcgi_stdio.3 FCGI_fgets.3 \
	fcgi_stdio.3 FCGI_fileno.3 \
	fcgi_stdio.3 FCGI_fopen.3 \
	fcgi_stdio.3 FCGI_fprintf.3 \
	fcgi_stdio.3 FCGI_fputc.3 \
	fcgi_stdio.3 FCGI_fputs.3 \
	fcgi_stdio.3 FCGI_fread.3 \
	fcgi_stdio.3 FCGI_freopen.3 \
	fcgi_stdio.3 FCGI_fseek.3 \
	fcgi_stdio.3 FCGI_fsetpos.3 \
	fcgi_stdio.3 FCGI_ftell.3 \
	fcgi_stdio.3 FCGI_fwrite.3 \
	fcgi_stdio.3 FCGI_getchar.3 \
	fcgi_stdio.3 FCGI_gets.3 \
	fcgi_stdio.3 FCGI_pclose.3 \
	fcgi_stdio.3 FCGI_perror.3 \
	fcgi_stdio.3 FCGI_popen.3 \
	fcgi_stdio.3 FCGI_printf.3 \
	fcgi_stdio.3 FCGI_putchar.3 \
	fcgi_stdio.3 FCGI_puts.3 \
	fcgi_stdio.3 FCGI_rewind.3 \
	fcgi_stdio.3 FCGI_setbuf.3 \
	fcgi_stdio.3 FCGI_setvbuf.3 \
	fcgi_stdio.3 FCGI_tmpfile.3 \
	fcgi_stdio.3 FCGI_ungetc.3 \
	fcgi_stdio.3 FCGI_vfprintf.3 \
	fcgi_stdio.3 FCGI_vprintf.3 \
	fcgio.3 fcgi_istream.3 \
	fcgio.3 fcgi_ostream.3 \
	fcgio.3 fcgi_streambuf.3 \
	fcgios.3 OS_Accept.3 \
	fcgios.3 OS_AsyncRead.3 \
	fcgios.3 OS_AsyncReadStdin.3 \
	fcgios.3 OS_AsyncWrite.3 \
	fcgios.3 OS_Close.3 \
	fcgios.3 OS_CloseRead.3 \
	fcgios.3 OS_CreateLocalIpcFd.3 \
	fcgios.3 OS_DoIo.3 \
	fcgios.3 OS_FcgiConnect.3 \
	fcgios.3 OS_IpcClose.3 \
	fcgios.3 OS_IsFcgi.3 \
	fcgios.3 OS_LibInit.3 \
	fcgios.3 OS_LibShutdown.3 \
	fcgios.3 OS_Read.3 \
	fcgios.3 OS_SetFlags.3 \
	fcgios.3 OS_ShutdownPending.3 \
	fcgios.3 OS_SpawnChild.3 \
	fcgios.3 OS_Write.3

install-data-hook: install-man-links
uninstall-hook: uninstall-man-links

install-man-links:
	@set x $(man_links); shift; \
	while test $$# -ge 2; do \
	  echo " install $(DESTDIR)$(man3dir)/$$2 -> $$1"; \
	  echo ".so man3/$$1" > "$(DESTDIR)$(man3dir)/$$2" || exit 1; \
	  shift 2; \
	done

uninstall-man-links:
	@set x $(man_links); shift; \
	while test $$# -ge 2; do \
	  echo " rm -f $(DESTDIR)$(man3dir)/$$2"; \
	  rm -f "$(DESTDIR)$(man3dir)/$$2"; \
	  shift 2; \
	done

.PHONY: install-man-links uninstall-man-links

# Lints every page and checks that each exported function is documented.
TESTS += tests/man-lint.sh
EXTRA_DIST += tests/man-lint.sh
