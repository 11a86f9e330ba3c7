using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace WatchStat.WeCom;

/// <summary>
/// Reads a cursor as the exact text WeCom sent, whether it came as a JSON string or a number,
/// so a numeric-looking <c>next_key</c> is never reformatted (older SDKs typed it as an integer and broke).
/// </summary>
public sealed class OpaqueStringConverter : JsonConverter<string?>
{
    public override bool HandleNull => true;

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType switch
        {
            JsonTokenType.Null => null,
            JsonTokenType.String => reader.GetString(),
            JsonTokenType.Number => reader.HasValueSequence ? Encoding.UTF8.GetString(reader.ValueSequence) : Encoding.UTF8.GetString(reader.ValueSpan),
            _ => throw new JsonException($"Expected a string or a number, found {reader.TokenType}."),
        };

    public override void Write(Utf8JsonWriter writer, string? value, JsonSerializerOptions options)
    {
        if (value is null) writer.WriteNullValue();
        else writer.WriteStringValue(value);
    }
}
