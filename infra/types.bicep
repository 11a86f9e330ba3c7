// Types shared by main.bicep and the modules.

@export()
@description('A WeCom app the deployment harvests for. Each one becomes the app settings WeCom__Apps__<name>__CorpId, __SecretName and __AnchorUserIds.')
type wecomApp = {
  @description('The app\'s name in harvest requests ({"app": "<name>"}); "default" is used when a request names none. Letters, digits, "-" and "_" only: it is part of app setting names.')
  @minLength(1)
  name: string

  @description('The enterprise\'s corpid (企业ID). Not a secret.')
  corpId: string

  @description('The name of the Key Vault secret that holds the app\'s secret (corpsecret). The template never creates or reads the secret: the operator sets it with az keyvault secret set.')
  @minLength(1)
  secretName: string

  @description('The anchors (userids, comma separated) whose lives the nightly harvest looks for; empty for none.')
  anchorUserIds: string
}

@export()
@description('Resource tags: name to value.')
type tagSet = {
  @description('A tag value.')
  *: string
}
