namespace WatchStat.WeComSimulator;

/// <summary>Word lists for realistic userids and external names. Changing them changes every generated live.</summary>
internal static class ViewerNames
{
    /// <summary>Pinyin surnames for member userids.</summary>
    public static readonly string[] PinyinSurnames =
    [
        "zhang", "wang", "li", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou", "xu", "sun", "ma",
        "zhu", "hu", "guo", "he", "gao", "lin", "luo", "zheng", "liang", "xie", "song", "tang", "han",
    ];

    /// <summary>Pinyin given names for member userids.</summary>
    public static readonly string[] PinyinGivenNames =
    [
        "wei", "fang", "na", "min", "jing", "li", "qiang", "lei", "jun", "yang", "yong", "yan", "jie",
        "juan", "tao", "ming", "chao", "xiulan", "xia", "ping", "gang", "guiying", "zihan", "haoran", "yinuo",
    ];

    /// <summary>Chinese surnames (姓) for external names, two compound ones included.</summary>
    public static readonly string[] Surnames =
    [
        "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
        "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "欧阳", "司马",
    ];

    /// <summary>Chinese given names (名) for external names.</summary>
    public static readonly string[] GivenNames =
    [
        "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
        "明", "超", "秀兰", "霞", "平", "刚", "桂英", "子涵", "浩然", "梓萱", "一诺", "欣怡", "宇轩", "思远",
    ];

    /// <summary>Emoji, mostly outside the BMP (surrogate pairs in UTF-16, 4 bytes in UTF-8).</summary>
    public static readonly string[] Emoji =
    [
        "😀", "🌸", "🚀", "🎉", "🐼", "🍀", "🔥", "👍", "🧧", "🌈", "✨", "❤️", "☀️", "🐉", "👨‍👩‍👧",
    ];

    /// <summary>English nicknames used in names with quotes.</summary>
    public static readonly string[] EnglishNames =
    [
        "Tony", "Amy", "Kevin", "Lily", "Jack", "Grace", "Leo", "Coco", "Eric", "Nina",
    ];

    /// <summary>Suffixes that make a name 30+ characters long.</summary>
    public static readonly string[] LongSuffixes =
    [
        "（上海浦东新区张江高科技园区智能科技有限公司华东区市场推广部）",
        "@深圳前海跨境电子商务供应链管理服务有限公司客户成功中心",
        " - Regional Sales Director, Greater China & Southeast Asia",
        "【杭州西湖区文化创意产业园数字传媒有限责任公司】直播运营组",
    ];

    /// <summary>Characters inserted into ids when <see cref="LiveSpec.OddIds"/> is set. None is in [A-Za-z0-9_-].</summary>
    public static readonly string[] OddChars = ["/", "\\", "#", "?", "%", " ", "\u0001", "\u007f"];
}
