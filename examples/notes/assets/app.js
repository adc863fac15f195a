/* notes: tiny script */
document.title = document.title + " *";
