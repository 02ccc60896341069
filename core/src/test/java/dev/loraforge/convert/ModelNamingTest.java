package dev.loraforge.convert;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The naming heuristics against the expectations of llama.cpp's own gguf-py test suite
 * ({@code gguf-py/tests/test_metadata.py} at the reference commit) and the fixture files' names.
 * Columns: model id, total params, full name, organization, basename, finetune, version, size label ("" = none).
 */
class ModelNamingTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', nullValues = "", value = {
            "Mistral/Mixtral-8x7B-Instruct-v0.1|0|Mixtral-8x7B-Instruct-v0.1|Mistral|Mixtral|Instruct|v0.1|8x7B",
            "Mixtral-8x7B-Instruct-v0.1|0|Mixtral-8x7B-Instruct-v0.1||Mixtral|Instruct|v0.1|8x7B",
            "Mixtral-8x7B-Instruct|0|Mixtral-8x7B-Instruct||Mixtral|Instruct||8x7B",
            "Mixtral-8x7B-v0.1|0|Mixtral-8x7B-v0.1||Mixtral||v0.1|8x7B",
            "Mixtral-8x7B|0|Mixtral-8x7B||Mixtral|||8x7B",
            "Mixtral-v0.1|0|Mixtral-v0.1||Mixtral||v0.1|",
            "Mixtral|0|Mixtral|||||",
            "NousResearch/Meta-Llama-3-8B|0|Meta-Llama-3-8B|NousResearch|Meta-Llama-3|||8B",
            "Qwen1.5-MoE-A2.7B-Chat|0|Qwen1.5-MoE-A2.7B-Chat||Qwen1.5-MoE|Chat||A2.7B",
            "Qwen2-57B-A14B-Instruct|0|Qwen2-57B-A14B-Instruct||Qwen2|Instruct||57B-A14B",
            "google/gemma-4-26B-A4B-it|4000000000|gemma-4-26B-A4B-it|google|gemma-4|it||26B-A4B",
            "microsoft/Phi-3-mini-4k-instruct|4000000000|Phi-3-mini-4k-instruct|microsoft|Phi-3|4k-instruct||mini",
            "delphi-suite/stories-llama2-50k|50000|stories-llama2-50k|delphi-suite|stories-llama2|||50K",
            "DeepSeek-Coder-V2-Lite-Instruct|0|DeepSeek-Coder-V2-Lite-Instruct||DeepSeek-Coder-V2-Lite|Instruct||",
            "crestf411/daybreak-kunoichi-2dpo-7b|0|daybreak-kunoichi-2dpo-7b|crestf411|daybreak-kunoichi|2dpo||7B",
            "Qwen2-0.5B-Instruct|0|Qwen2-0.5B-Instruct||Qwen2|Instruct||0.5B",
            "smallcloudai/Refact-1_6B-fim|0|Refact-1_6B-fim|smallcloudai|Refact|fim||1.6B",
            "UCLA-AGI/Gemma-2-9B-It-SPPO-Iter3|0|Gemma-2-9B-It-SPPO-Iter3|UCLA-AGI|Gemma-2|It-SPPO|Iter3|9B",
            "NousResearch/Hermes-2-Theta-Llama-3-8B|0|Hermes-2-Theta-Llama-3-8B|NousResearch|Hermes-2-Theta-Llama-3|||8B",
            "SeaLLMs/SeaLLMs-v3-7B-Chat|0|SeaLLMs-v3-7B-Chat|SeaLLMs|SeaLLMs-v3|Chat||7B",
            "internlm/internlm2_5-7b-chat-1m|7000000000|internlm2_5-7b-chat-1m|internlm|internlm2_5|chat-1m||7B",
            "pszemraj/jamba-900M-v0.13-KIx2|0|jamba-900M-v0.13-KIx2|pszemraj|jamba|KIx2|v0.13|900M",
            "state-spaces/mamba-2.8b-hf|0|mamba-2.8b-hf|state-spaces|mamba|hf||2.8B",
            "abacaj/llama-161M-100B|161000000|llama-161M-100B|abacaj|llama|100b||161M",
            "SparseLLM/relu-100B|1340000000|relu-100B|SparseLLM|relu|100b||",
            "bigscience/bloom-7b1-petals|0|bloom-7b1-petals|bigscience|bloom|petals||7.1B",
            "MaziyarPanahi/GreenNode-mini-7B-multilingual-v1olet-Mistral-7B-Instruct-v0.1|0|GreenNode-mini-7B-multilingual-v1olet-Mistral-7B-Instruct-v0.1|MaziyarPanahi|GreenNode-mini|multilingual-v1olet-Mistral-Instruct|v0.1|7B",
            "mistralai/Mistral-Nemo-Instruct-2407|0|Mistral-Nemo-Instruct-2407|mistralai|Mistral-Nemo|Instruct|2407|",
            "deepseek-ai/DeepSeek-V2-Chat-0628|0|DeepSeek-V2-Chat-0628|deepseek-ai|DeepSeek-V2|Chat|0628|",
            "OpenGVLab/Mini-InternVL-Chat-2B-V1-5|0|Mini-InternVL-Chat-2B-V1-5|OpenGVLab|Mini-InternVL|Chat|V1-5|2B",
            "jondurbin/bagel-dpo-2.8b-v0.2|0|bagel-dpo-2.8b-v0.2|jondurbin|bagel-dpo||v0.2|2.8B",
            "voxmenthe/SFR-Iterative-DPO-LLaMA-3-8B-R-unquantized|0|SFR-Iterative-DPO-LLaMA-3-8B-R-unquantized|voxmenthe|SFR-Iterative-DPO-LLaMA-3|R-unquantized||8B",
            "microsoft/Florence-2-base|0|Florence-2-base|microsoft||||",
            "mistralai/-Mistral--Nemo-Base-2407-|0|-Mistral--Nemo-Base-2407-|mistralai|Mistral-Nemo-Base||2407|",
            "Llama-3-Instruct-abliteration-LoRA-8B|0|Llama-3-Instruct-abliteration-LoRA-8B||Llama-3|Instruct-abliteration-LoRA||8B",
            "Llama-3-Instruct-abliteration-LoRA-8B|-1234|Llama-3-Instruct-abliteration-LoRA-8B||Llama-3|Instruct-abliteration||8B",
            // the fixtures' folders, as llama.cpp named the converted files
            "tiny-llama-v512|3410176|tiny-llama-v512||tiny-llama||v512|",
            "tinystories-260k|260000|tinystories-260k||tinystories|||260K",
            "lora-r4-merged|260000|lora-r4-merged|||||",
            "lora-r8|-3000000|lora-r8|||||",
    })
    void componentsMatchGgufPy(String id, long params, String full, String org, String basename, String finetune,
                               String version, String size) {
        assertThat(ModelNaming.components(id, params))
                .isEqualTo(new ModelNaming.Components(full, org, basename, finetune, version, size));
    }

    @Test
    void titles() {
        assertThat(ModelNaming.idToTitle("Mixtral-8x7B-Instruct-v0.1")).isEqualTo("Mixtral 8x7B Instruct v0.1");
        assertThat(ModelNaming.idToTitle("Meta-Llama-3-8B")).isEqualTo("Meta Llama 3 8B");
        assertThat(ModelNaming.idToTitle("hermes-2-pro-llama-3-8b-DPO")).isEqualTo("Hermes 2 Pro Llama 3 8b DPO");
        assertThat(ModelNaming.idToTitle("tiny-llama-v512")).isEqualTo("Tiny Llama v512");
        assertThat(ModelNaming.idToTitle("tinystories-260k")).isEqualTo("Tinystories 260k");
        assertThat(ModelNaming.idToTitle("lora-rslora-patterns")).isEqualTo("Lora Rslora Patterns");
        assertThat(ModelNaming.idToTitle("llama3b-x")).isEqualTo("Llama3B X"); // str.title() restarts after digits
    }

    @ParameterizedTest
    @CsvSource({"3410176, 3.4M", "260000, 260K", "8030261248, 8.0B", "124439808, 124M", "1234, 1.2K", "999, 1.0K",
            "7241732096, 7.2B", "1500000000000, 1.5T", "0, 0.00K"})
    void sizeLabelsAsUtilityPy(long params, String label) {
        assertThat(ModelNaming.sizeLabel(params, params, 0, 0)).isEqualTo(label);
    }

    @Test
    void mixtureOfExpertsLabel() {
        // 8 experts of 5.6B each + 1.6B shared: "8x7.2B"
        assertThat(ModelNaming.sizeLabel(46_400_000_000L, 1_600_000_000L, 5_600_000_000L, 8)).isEqualTo("8x7.2B");
    }

    @Test
    void modelDirectoryHeuristicAsGgufPyTest() {
        ModelMetadata.Naming n = ModelMetadata.naming(java.nio.file.Path.of("hermes-2-pro-llama-3-8b-DPO"), null, 0,
                new long[4]);
        assertThat(n).isEqualTo(new ModelMetadata.Naming("Hermes 2 Pro Llama 3 8b DPO", null, "DPO", "hermes-2-pro-llama-3", "8B", null));
        ModelMetadata.Naming h = ModelMetadata.naming(java.nio.file.Path.of("some-dir"),
                java.util.Map.of("_name_or_path", "./hermes-2-pro-llama-3-8b-DPO"), 0, new long[4]);
        assertThat(h.name()).isEqualTo("Hermes 2 Pro Llama 3 8b DPO");
    }
}
