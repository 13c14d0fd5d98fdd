//! The local photo folder: content-addressed files under `photos/`.
//!
//! A photo is written to a temporary file, fsynced, renamed into place and the
//! folder fsynced, so after a crash a photo either exists whole or not at all.
//! Thumbnails are derived data: written without fsync and remade if missing.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Content-addressed photo files.
#[derive(Debug, Clone)]
pub struct PhotoFolder {
    root: PathBuf,
}

fn valid_id(id: &str) -> bool {
    id.len() == 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl PhotoFolder {
    /// A folder at `root`, created if missing.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        fs::create_dir_all(&root)?;
        Ok(PhotoFolder { root })
    }

    /// Writes, syncs and removes a small file: fails when the disk is full or
    /// read-only.
    pub fn probe_write(&self) -> io::Result<()> {
        use std::io::Write;
        let path = self.root.join(format!(".probe-{}", std::process::id()));
        let result = (|| {
            let mut f = fs::File::create(&path)?;
            f.write_all(&[0u8; 4096])?;
            f.sync_all()
        })();
        let _ = fs::remove_file(&path);
        result
    }

    fn dir_of(&self, id: &str) -> io::Result<PathBuf> {
        if !valid_id(id) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a photo id",
            ));
        }
        Ok(self.root.join(&id[0..2]))
    }

    /// Where the photo lives.
    pub fn path(&self, id: &str) -> io::Result<PathBuf> {
        Ok(self.dir_of(id)?.join(id))
    }

    /// Where its thumbnail lives.
    pub fn thumb_path(&self, id: &str) -> io::Result<PathBuf> {
        Ok(self.dir_of(id)?.join(format!("{id}.thumb.jpg")))
    }

    /// Stores a photo durably; a photo already present is left as it is.
    pub fn put(&self, id: &str, bytes: &[u8]) -> io::Result<()> {
        let dir = self.dir_of(id)?;
        let path = dir.join(id);
        if path.exists() {
            return Ok(());
        }
        let new_dir = !dir.exists();
        fs::create_dir_all(&dir)?;
        let tmp = dir.join(format!(".{id}.{}.tmp", std::process::id()));
        {
            let mut f = File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        fs::rename(&tmp, &path)?;
        sync_dir(&dir)?;
        if new_dir {
            sync_dir(&self.root)?;
        }
        Ok(())
    }

    /// Reads a photo.
    pub fn read(&self, id: &str) -> io::Result<Vec<u8>> {
        fs::read(self.path(id)?)
    }

    /// Reads a cached thumbnail, if made.
    pub fn read_thumb(&self, id: &str) -> io::Result<Option<Vec<u8>>> {
        match fs::read(self.thumb_path(id)?) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Caches a thumbnail (no fsync: it can be remade).
    pub fn put_thumb(&self, id: &str, bytes: &[u8]) -> io::Result<()> {
        let path = self.thumb_path(id)?;
        let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
        fs::write(&tmp, bytes)?;
        fs::rename(tmp, path)
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photos_are_stored_once_and_read_back() {
        let d = tempfile::tempdir().unwrap();
        let f = PhotoFolder::open(d.path().join("photos")).unwrap();
        let id = "ab".repeat(32);
        f.put(&id, b"hello").unwrap();
        f.put(&id, b"ignored: same id means same content").unwrap();
        assert_eq!(f.read(&id).unwrap(), b"hello");
        assert!(f.read_thumb(&id).unwrap().is_none());
        assert!(f.put("../../etc/passwd", b"x").is_err());
    }
}
