using System.Text.Json.Serialization;

namespace WatchStat.WeCom;

/// <summary>Source-generated serialization of every WeCom wire record.</summary>
[JsonSourceGenerationOptions(
    NumberHandling = JsonNumberHandling.AllowReadingFromString,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    AllowTrailingCommas = true)]
[JsonSerializable(typeof(WeComResult))]
[JsonSerializable(typeof(TokenResult))]
[JsonSerializable(typeof(WatchStatRequest))]
[JsonSerializable(typeof(WatchStatResult))]
[JsonSerializable(typeof(UserAllLivingIdRequest))]
[JsonSerializable(typeof(UserAllLivingIdResult))]
[JsonSerializable(typeof(LivingInfoResult))]
[JsonSerializable(typeof(SuiteTokenRequest))]
[JsonSerializable(typeof(SuiteTokenResult))]
[JsonSerializable(typeof(PermanentCodeRequest))]
[JsonSerializable(typeof(PermanentCodeResult))]
[JsonSerializable(typeof(CorpTokenRequest))]
public sealed partial class WeComJsonContext : JsonSerializerContext;
