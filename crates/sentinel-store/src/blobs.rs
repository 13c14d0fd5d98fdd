//! Where photo bytes live: the local [`PhotoFolder`] (the default) or S3-compatible
//! object storage ([`ObjectBlobs`], `--blobs s3://bucket/prefix`). Either way a
//! photo is durable when `put` returns, before the report that names it is
//! committed; thumbnails are derived data.

use crate::PhotoFolder;
use async_trait::async_trait;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use std::io;

/// Photo storage.
#[async_trait]
pub trait Blobs: Send + Sync + 'static {
    /// Stores a photo durably; one already there is left as it is (ids are content
    /// hashes).
    async fn put(&self, id: &str, bytes: Vec<u8>) -> io::Result<()>;
    /// Reads a photo (`NotFound` if missing).
    async fn get(&self, id: &str) -> io::Result<Vec<u8>>;
    /// Reads a cached thumbnail, if made.
    async fn get_thumb(&self, id: &str) -> io::Result<Option<Vec<u8>>>;
    /// Caches a thumbnail.
    async fn put_thumb(&self, id: &str, bytes: Vec<u8>) -> io::Result<()>;
    /// Whether a photo is there (for resuming a move).
    async fn has(&self, id: &str) -> io::Result<bool>;
    /// Where, for logs and `/readyz`.
    fn describe(&self) -> String;
    /// Whether a photo could be stored now (readiness): a full disk must take the
    /// node out of a load balancer before reports are refused.
    async fn probe_write(&self) -> io::Result<()> {
        Ok(())
    }
}

fn joined(e: tokio::task::JoinError) -> io::Error {
    io::Error::other(e.to_string())
}

#[async_trait]
impl Blobs for PhotoFolder {
    async fn probe_write(&self) -> io::Result<()> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.probe_write())
            .await
            .map_err(joined)?
    }

    async fn put(&self, id: &str, bytes: Vec<u8>) -> io::Result<()> {
        let (me, id) = (self.clone(), id.to_owned());
        tokio::task::spawn_blocking(move || PhotoFolder::put(&me, &id, &bytes))
            .await
            .map_err(joined)?
    }

    async fn get(&self, id: &str) -> io::Result<Vec<u8>> {
        let (me, id) = (self.clone(), id.to_owned());
        tokio::task::spawn_blocking(move || me.read(&id))
            .await
            .map_err(joined)?
    }

    async fn get_thumb(&self, id: &str) -> io::Result<Option<Vec<u8>>> {
        let (me, id) = (self.clone(), id.to_owned());
        tokio::task::spawn_blocking(move || me.read_thumb(&id))
            .await
            .map_err(joined)?
    }

    async fn put_thumb(&self, id: &str, bytes: Vec<u8>) -> io::Result<()> {
        let (me, id) = (self.clone(), id.to_owned());
        tokio::task::spawn_blocking(move || PhotoFolder::put_thumb(&me, &id, &bytes))
            .await
            .map_err(joined)?
    }

    async fn has(&self, id: &str) -> io::Result<bool> {
        Ok(self.path(id)?.exists())
    }

    fn describe(&self) -> String {
        format!("folder {}", self.root().display())
    }
}

/// How to reach an S3-compatible service when not from the environment.
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// The endpoint, e.g. `http://127.0.0.1:9000` (none: AWS itself).
    pub endpoint: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Access key id.
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<String>,
    /// Allow plain HTTP (a service on a private network or loopback).
    pub allow_http: bool,
}

/// Photos in an S3-compatible bucket, under a prefix, each at
/// `PREFIX/ab/abcdef...` (the first two hex digits, as in the folder).
#[derive(Debug, Clone)]
pub struct ObjectBlobs {
    store: std::sync::Arc<AmazonS3>,
    url: String,
    prefix: String,
}

fn valid_id(id: &str) -> bool {
    id.len() == 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn s3_error(e: object_store::Error) -> io::Error {
    match e {
        object_store::Error::NotFound { .. } => {
            io::Error::new(io::ErrorKind::NotFound, e.to_string())
        }
        other => io::Error::other(other.to_string()),
    }
}

impl ObjectBlobs {
    /// `s3://bucket/prefix`, with endpoint, region and credentials from the
    /// environment (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`).
    pub fn from_env(url: &str) -> io::Result<ObjectBlobs> {
        Self::build(url, AmazonS3Builder::from_env())
    }

    /// `s3://bucket/prefix` with explicit settings.
    pub fn with_options(url: &str, o: &S3Options) -> io::Result<ObjectBlobs> {
        let mut b = AmazonS3Builder::new().with_allow_http(o.allow_http);
        if let Some(v) = &o.endpoint {
            b = b.with_endpoint(v);
        }
        if let Some(v) = &o.region {
            b = b.with_region(v);
        }
        if let Some(v) = &o.access_key_id {
            b = b.with_access_key_id(v);
        }
        if let Some(v) = &o.secret_access_key {
            b = b.with_secret_access_key(v);
        }
        Self::build(url, b)
    }

    fn build(url: &str, builder: AmazonS3Builder) -> io::Result<ObjectBlobs> {
        let bad = |why: &str| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("--blobs {url:?}: {why}"),
            )
        };
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| bad("use s3://bucket/prefix"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("the bucket is missing"));
        }
        // A reporter is waiting: a few quick retries, then 503 and their app retries.
        let retry = object_store::RetryConfig {
            max_retries: 3,
            retry_timeout: std::time::Duration::from_secs(15),
            ..Default::default()
        };
        let store = builder
            .with_retry(retry)
            .with_bucket_name(bucket)
            .build()
            .map_err(|e| bad(&e.to_string()))?;
        Ok(ObjectBlobs {
            store: std::sync::Arc::new(store),
            url: url.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }

    fn key(&self, id: &str, suffix: &str) -> io::Result<ObjectPath> {
        if !valid_id(id) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a photo id",
            ));
        }
        let name = format!("{}/{id}{suffix}", &id[0..2]);
        Ok(if self.prefix.is_empty() {
            ObjectPath::from(name)
        } else {
            ObjectPath::from(format!("{}/{name}", self.prefix))
        })
    }

    /// Checks the bucket answers (at start: a clear error rather than a first
    /// report that fails).
    pub async fn check(&self) -> io::Result<()> {
        use futures_util::StreamExt;
        let prefix = (!self.prefix.is_empty()).then(|| ObjectPath::from(self.prefix.as_str()));
        let mut list = self.store.list(prefix.as_ref());
        match list.next().await {
            Some(Err(e)) => Err(s3_error(e)),
            _ => Ok(()),
        }
    }
}

#[async_trait]
impl Blobs for ObjectBlobs {
    async fn put(&self, id: &str, bytes: Vec<u8>) -> io::Result<()> {
        // A PUT that returned is durable at the service; ids are content hashes, so
        // writing one again changes nothing.
        self.store
            .put(&self.key(id, "")?, PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(s3_error)
    }

    async fn get(&self, id: &str) -> io::Result<Vec<u8>> {
        let r = self.store.get(&self.key(id, "")?).await.map_err(s3_error)?;
        Ok(r.bytes().await.map_err(s3_error)?.to_vec())
    }

    async fn get_thumb(&self, id: &str) -> io::Result<Option<Vec<u8>>> {
        match self.store.get(&self.key(id, ".thumb.jpg")?).await {
            Ok(r) => Ok(Some(r.bytes().await.map_err(s3_error)?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(s3_error(e)),
        }
    }

    async fn put_thumb(&self, id: &str, bytes: Vec<u8>) -> io::Result<()> {
        self.store
            .put(&self.key(id, ".thumb.jpg")?, PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(s3_error)
    }

    async fn has(&self, id: &str) -> io::Result<bool> {
        match self.store.head(&self.key(id, "")?).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(s3_error(e)),
        }
    }

    fn describe(&self) -> String {
        self.url.clone()
    }
}
