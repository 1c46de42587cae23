//! The window table on real model names, and each probe against a tiny HTTP stub that
//! answers as the real server does.

use std::collections::BTreeMap;

use super::*;
use crate::config::ProviderKind;
use crate::model::stub::{Routes, stub};

#[test]
fn well_known_models_have_their_windows() {
    for (model, window) in [
        ("gpt-4o", 128_000),
        ("gpt-4o-mini-2024-07-18", 128_000),
        ("gpt-4.1", 1_047_576),
        ("gpt-4.1-mini", 1_047_576),
        ("gpt-4.1-nano", 1_047_576),
        ("o3", 200_000),
        ("o3-mini", 200_000),
        ("o4-mini", 200_000),
        ("gpt-5", 400_000),
        ("gpt-5-mini", 400_000),
        ("gpt-5-chat-latest", 128_000),
        ("gpt-4", 8_192),
        ("gpt-3.5-turbo", 16_385),
        ("openai/gpt-oss-120b", 131_072),
        ("claude-sonnet-4-5", 200_000),
        ("claude-3-5-haiku-latest", 200_000),
        ("anthropic/claude-opus-4.1", 200_000),
        ("meta-llama/Llama-3.1-8B-Instruct", 131_072),
        ("llama3.2:3b", 131_072),
        ("llama-3.3-70b-versatile", 131_072),
        ("Meta-Llama-3-8B-Instruct", 8_192),
        ("llama3", 8_192),
        ("Qwen/Qwen2.5-7B-Instruct", 32_768),
        ("qwen2.5-coder:14b", 32_768),
        ("qwen3-32b", 32_768),
        ("qwen3:8b", 32_768),
        ("Qwen/Qwen3-235B-A22B-Instruct-2507", 262_144),
        ("qwen3-coder:30b", 262_144),
        ("deepseek-chat", 128_000),
        ("deepseek-reasoner", 128_000),
        ("deepseek-ai/DeepSeek-V3", 128_000),
        ("deepseek-r1:8b", 128_000),
        ("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", 128_000),
        ("mistral-large-latest", 131_072),
        ("open-mistral-nemo", 131_072),
        ("mistral:7b", 32_768),
        ("mistralai/Mistral-7B-Instruct-v0.3", 32_768),
        ("mixtral:8x7b", 32_768),
        ("open-mixtral-8x22b", 65_536),
        ("codestral-latest", 256_000),
        ("gemma3", 131_072),
        ("gemma3:12b", 131_072),
        ("google/gemma-3-27b-it", 131_072),
        ("gemma3:1b", 32_768),
        ("gemma3n:e4b", 32_768),
        ("gemma2:9b", 8_192),
        ("SmolLM2-135M-Instruct.Q4_1.gguf", 8_192),
    ] {
        assert_eq!(known_window(model), Some(window), "{model}");
    }
}

#[test]
fn unknown_models_and_lookalikes_are_not_guessed() {
    for model in [
        "test-model",
        "scripted-model",
        "my-llama",
        "tinyllama",
        "zoo3",
        "phi-4",
        "",
        "codellama:7b",
        "chatgpt",
    ] {
        assert_eq!(known_window(model), None, "{model}");
    }
}

#[test]
fn names_are_normalised_before_matching() {
    assert_eq!(normalise("Meta-Llama-3.1-8B"), "meta-llama3.1-8b");
    assert_eq!(normalise("qwen2.5:7b"), "qwen2.5-7b");
    assert_eq!(normalise("gpt-4o"), "gpt4o");
    assert_eq!(normalise("org/Gemma-3-1B_it"), "gemma3-1b-it");
}

fn provider(base_url: &str) -> Provider {
    Provider {
        name: "local".into(),
        kind: ProviderKind::OpenAi,
        base_url: base_url.into(),
        api_key_env: None,
        headers: BTreeMap::new(),
        images: true,
        audio: false,
        prompt_cache_key: false,
    }
}

async fn probe_stub(routes: Routes, model: &str) -> (Option<u64>, Vec<String>) {
    let (base, seen) = stub(routes).await;
    let window = probe_window(&reqwest::Client::new(), &provider(&base), model).await;
    let routes = seen.lock().unwrap().iter().map(|s| s.0.clone()).collect();
    (window, routes)
}

const VLLM_MODELS: &str = r#"{"object":"list","data":[{"id":"Qwen/Qwen2.5-7B-Instruct","object":"model","created":1735000000,"owned_by":"vllm","root":"Qwen/Qwen2.5-7B-Instruct","parent":null,"max_model_len":16384,"permission":[{"id":"modelperm-1","object":"model_permission","allow_sampling":true}]},{"id":"other","object":"model","max_model_len":4096}]}"#;

#[tokio::test]
async fn vllm_says_max_model_len_in_its_model_list() {
    let routes = Routes::from([("GET /v1/models", (200, VLLM_MODELS))]);
    let (window, seen) = probe_stub(routes.clone(), "Qwen/Qwen2.5-7B-Instruct").await;
    assert_eq!(window, Some(16_384));
    assert_eq!(seen, ["GET /v1/models"], "one request is enough");
    // Two entries and none of them the model: the list says nothing about it.
    let (window, _) = probe_stub(routes, "absent").await;
    assert_eq!(window, None);
}

#[tokio::test]
async fn the_key_and_headers_go_with_the_probe() {
    let (base, seen) = stub(Routes::from([("GET /v1/models", (200, VLLM_MODELS))])).await;
    let mut p = provider(&base);
    // PATH is always set: its value stands in for a key.
    p.api_key_env = Some("PATH".into());
    p.headers.insert("x-extra".into(), "1".into());
    let window = probe_window(&reqwest::Client::new(), &p, "other").await;
    assert_eq!(window, Some(4096));
    let auth = seen.lock().unwrap()[0].1.clone().unwrap_or_default();
    assert!(auth.starts_with("Bearer "), "{auth}");
}

#[tokio::test]
async fn a_single_entry_list_with_a_provider_field_counts() {
    let groq = r#"{"object":"list","data":[{"id":"llama-3.3-70b-versatile","object":"model","owned_by":"Meta","active":true,"context_window":131072}]}"#;
    let routes = Routes::from([("GET /v1/models", (200, groq))]);
    assert_eq!(probe_stub(routes, "alias").await.0, Some(131_072));
    let openrouter =
        r#"{"data":[{"id":"meta-llama/llama-3.1-8b-instruct","context_length":"131072"}]}"#;
    let routes = Routes::from([("GET /v1/models", (200, openrouter))]);
    assert_eq!(
        probe_stub(routes, "meta-llama/llama-3.1-8b-instruct")
            .await
            .0,
        Some(131_072)
    );
}

#[tokio::test]
async fn llama_server_says_n_ctx_in_props() {
    // llama-server's /v1/models gives only the training window (`n_ctx_train`), which is
    // not what it serves; /props has the slot's n_ctx.
    let models = r#"{"models":[{"name":"smollm2.gguf","model":"smollm2.gguf"}],"object":"list","data":[{"id":"smollm2.gguf","object":"model","owned_by":"llamacpp","meta":{"vocab_type":2,"n_vocab":49152,"n_ctx_train":8192,"n_embd":576,"n_params":134515008,"size":98000000}}]}"#;
    let props = r#"{"default_generation_settings":{"id":0,"id_task":-1,"n_ctx":2048,"speculative":false,"is_processing":false,"params":{"n_predict":-1,"temperature":0.8}},"total_slots":1,"model_path":"/models/smollm2.gguf","build_info":"b5000"}"#;
    let routes = Routes::from([
        ("GET /v1/models", (200, models)),
        ("GET /props", (200, props)),
    ]);
    let (window, seen) = probe_stub(routes, "smollm2.gguf").await;
    assert_eq!(window, Some(2048));
    assert_eq!(seen, ["GET /v1/models", "GET /props"]);
}

#[tokio::test]
async fn ollama_says_the_loaded_window_in_ps_else_num_ctx_else_the_trained_one() {
    let ollama_models = r#"{"object":"list","data":[{"id":"qwen3:8b","object":"model","created":1750000000,"owned_by":"library"}]}"#;
    let ps = r#"{"models":[{"name":"qwen3:8b","model":"qwen3:8b","size":6000000000,"digest":"abc","details":{"family":"qwen3","parameter_size":"8.2B","quantization_level":"Q4_K_M"},"expires_at":"2026-12-01T15:00:00Z","size_vram":6000000000,"context_length":8192}]}"#;
    let show_num_ctx = r#"{"modelfile":"FROM qwen3","parameters":"num_ctx                        16384\nstop                           \"<|im_end|>\"","template":"{{ .Prompt }}","details":{"family":"qwen3"},"model_info":{"general.architecture":"qwen3","qwen3.context_length":40960,"qwen3.embedding_length":4096}}"#;
    let show_trained = r#"{"parameters":"stop \"<|im_end|>\"","model_info":{"general.architecture":"qwen3","qwen3.context_length":40960}}"#;

    let routes = Routes::from([
        ("GET /v1/models", (200, ollama_models)),
        ("GET /api/ps", (200, ps)),
        ("POST /api/show", (200, show_num_ctx)),
    ]);
    let (window, seen) = probe_stub(routes, "qwen3:8b").await;
    assert_eq!(window, Some(8192), "loaded: what it serves now");
    assert_eq!(seen, ["GET /v1/models", "GET /props", "GET /api/ps"]);

    let routes = Routes::from([
        ("GET /api/ps", (200, r#"{"models":[]}"#)),
        ("POST /api/show", (200, show_num_ctx)),
    ]);
    assert_eq!(probe_stub(routes, "qwen3:8b").await.0, Some(16_384));

    let (base, seen) = stub(Routes::from([("POST /api/show", (200, show_trained))])).await;
    let window = probe_window(&reqwest::Client::new(), &provider(&base), "qwen3:8b").await;
    assert_eq!(window, Some(40_960));
    let show = seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(show.0, "POST /api/show");
    assert_eq!(
        serde_json::from_str::<Value>(&show.2).unwrap(),
        json!({"model": "qwen3:8b"})
    );
}

#[tokio::test]
async fn a_server_that_says_nothing_gives_none() {
    // llama-cpp-python: its model list has no window, and it has none of the other routes.
    let models = r#"{"object":"list","data":[{"id":"/models/smollm2.gguf","object":"model","owned_by":"me","permissions":[]}]}"#;
    let routes = Routes::from([("GET /v1/models", (200, models))]);
    let (window, seen) = probe_stub(routes, "smollm2").await;
    assert_eq!(window, None);
    assert_eq!(
        seen,
        [
            "GET /v1/models",
            "GET /props",
            "GET /api/ps",
            "POST /api/show"
        ]
    );
    // Errors and bodies that are not JSON.
    let routes = Routes::from([
        ("GET /v1/models", (500, r#"{"error":"boom"}"#)),
        ("GET /props", (200, "not json")),
        (
            "GET /api/ps",
            (200, r#"{"models":[{"name":"smollm2","context_length":0}]}"#),
        ),
    ]);
    assert_eq!(probe_stub(routes, "smollm2").await.0, None);
}

#[tokio::test]
async fn nobody_listening_gives_none_at_once() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}/v1");
    let started = std::time::Instant::now();
    assert_eq!(
        probe_window(&reqwest::Client::new(), &provider(&base), "m").await,
        None
    );
    assert!(started.elapsed() < PROBE_TIMEOUT, "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_server_that_hangs_is_given_up_after_the_timeout() {
    let routes = Routes::from([("GET /v1/models", (0, ""))]);
    let started = std::time::Instant::now();
    let (window, _) = probe_stub(routes, "m").await;
    assert_eq!(window, None);
    let took = started.elapsed();
    assert!(
        took >= PROBE_TIMEOUT && took < PROBE_TIMEOUT + Duration::from_secs(2),
        "{took:?}"
    );
}
