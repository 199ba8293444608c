//! One Request Tracker seeded from `tiny` (about a minute to seed), shared by `extract_rt` and
//! `load_rt`, and the bundle the extractor makes of it.
//!
//! Kept in `OnceLock`s: the first test to ask starts and seeds it, the others wait for it. A
//! `static` is never dropped, so the server is told to stop itself once this test process ends
//! ([`RtServer::stop_when_gone`]).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use deskferry_extractor::pipeline::{ExtractOptions, ExtractSummary, run};
use deskferry_extractor::platforms::rt::RtSource;
use deskferry_extractor::progress::ProgressMode;
use deskferry_fixtures::dataset::{Dataset, Size};
use deskferry_fixtures::rt::{RtOptions, RtServer, SeedInput, SeedMap, seed};
use deskferry_format::{
    BundleReader, Identities, KeygenPaths, Recipients, SignerKey, SigningKey, VerifyOptions, keygen,
};

/// The seeded source RT.
pub struct World {
    /// The dataset it was seeded from.
    pub ds: Dataset,
    /// The running server.
    pub rt: RtServer,
    /// Dataset id → RT id, and what RT could not keep.
    pub map: SeedMap,
    /// An auth token of root (`Authorization: token …`).
    pub token: String,
}

/// The bundle extracted from the world's RT.
pub struct Extracted {
    /// `rt-tiny.dfb`.
    pub bundle: PathBuf,
    /// Keys it was made with.
    pub keys: KeygenPaths,
    /// What the pipeline reported.
    pub summary: ExtractSummary,
    _dir: tempfile::TempDir,
}

/// Fails with install instructions when RT is missing.
pub fn require_rt() {
    assert!(
        Path::new("/usr/sbin/rt-setup-database-5").exists()
            && Path::new("/usr/share/request-tracker5/libexec/rt-server").exists(),
        "Request Tracker 5 is not installed: apt-get install request-tracker5 rt5-db-sqlite \
         rt5-standalone (tests/run does this)"
    );
}

/// Starts RT without scrips (no notification mail, no automatic status changes).
pub fn start_rt() -> RtServer {
    require_rt();
    let opts = RtOptions { scrips: false, ..RtOptions::default() };
    let rt = RtServer::start_with(&opts).expect("start RT");
    rt.stop_when_gone(std::process::id()).expect("RT watchdog");
    rt
}

/// The shared seeded RT.
pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let ds = Dataset::generate(1, Size::Tiny);
        let rt = start_rt();
        let started = std::time::Instant::now();
        let input = SeedInput::from_dataset(&ds);
        let map = seed(&rt.client().expect("client"), &input)
            .unwrap_or_else(|e| panic!("seeding failed: {e}\n{}", rt.log_tail(30)));
        // Source dates on transactions, as an RT with history has them.
        rt.backdate(&input, &map).expect("backdate");
        drop(input);
        eprintln!("rt_world: seeded tiny in {:.1} s", started.elapsed().as_secs_f64());
        let token = rt.auth_token("root").expect("auth token");
        World { ds, rt, map, token }
    })
}

/// The RT source for the world's RT.
pub fn source(w: &World) -> RtSource {
    let url = reqwest::Url::parse(&w.rt.url).expect("url");
    RtSource::from_parts(url, w.token.clone().into()).expect("source")
}

/// The shared bundle: the world's RT through the real pipeline.
pub fn extracted() -> &'static Extracted {
    static BUNDLE: OnceLock<Extracted> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let w = world();
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = keygen(&dir.path().join("keys")).expect("keygen");
        let bundle = dir.path().join("rt-tiny.dfb");
        let src = source(w);
        let mut opts = ExtractOptions::new(
            bundle.clone(),
            Recipients::from_file(&keys.recipient).expect("recipients"),
            SigningKey::from_file(&keys.sign_key).expect("sign key"),
        );
        opts.http = Some(src.http().clone());
        opts.progress = ProgressMode::Plain;
        let started = std::time::Instant::now();
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let summary = rt.block_on(run(&src, opts)).expect("extract RT");
        eprintln!(
            "rt_world: extracted {:?} in {:.1} s, {} requests",
            summary.rows,
            started.elapsed().as_secs_f64(),
            src.http().stats().requests
        );
        Extracted { bundle, keys, summary, _dir: dir }
    })
}

/// Opens the shared bundle (full verification).
pub fn open(x: &Extracted) -> BundleReader {
    BundleReader::open(
        &x.bundle,
        &SignerKey::from_file(&x.keys.sign_pub).expect("sign.pub"),
        &Identities::from_file(&x.keys.identity).expect("identity"),
        &VerifyOptions::default(),
    )
    .expect("bundle verifies")
}
