"""The Files API: managing files (--upload, --list-files, --file-info, --delete-file,
--download-file) and uploading -d/-i files once for many requests (--upload-files)."""
